"""Executors: where a job's program runs. Every program run (Jobs, Design, Bench) goes through one.

An executor is chosen by name from the ``register_executors`` hook (``register(name, factory)``,
``factory(root=None, db=None) -> Executor``). The built-in plugins register the local sandbox and
Ray (they load even with ``DEEPONES_LOAD_PLUGINS=0``); a third-party executor registers the same way.

The contract, written once here so every caller and implementation agrees:

- ``submit(spec) -> handle`` returns at once. A handle has ``job_id``, ``workdir`` (the local job
  folder, where ``stdout.log``, ``stderr.log``, ``status.json`` and ``metric.log`` are mirrored for
  remote runs), ``status() -> dict``, ``is_running() -> bool``, ``cancel() -> bool``,
  ``wait(on_output=None, cancel=None, timeout=None) -> JobResult`` and ``result() -> JobResult``.
- ``run(spec, on_output=None, cancel=None) -> JobResult`` blocks until the job ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

DEFAULT_EXECUTOR = "local"


class Executor(Protocol):
    name: str

    def submit(self, spec: Any) -> Any: ...

    def run(self, spec: Any, *, on_output: Callable | None = None, cancel: Any = None) -> Any: ...


class LocalExecutor:
    """Runs jobs here as sandboxed child processes (see :mod:`backend.jobs.runner`)."""

    name = "local"

    def __init__(self, root: Path | None = None, db: Any = None) -> None:
        self.root, self.db = root, db

    def submit(self, spec: Any) -> Any:
        from backend.jobs.runner import start_job

        return start_job(spec, root=self.root, db=self.db)

    def run(self, spec: Any, *, on_output: Callable | None = None, cancel: Any = None) -> Any:
        from backend.jobs.runner import run_job

        return run_job(spec, root=self.root, db=self.db, on_output=on_output, cancel=cancel)


def executor_factories() -> dict[str, Callable[..., Executor]]:
    """Every executor by name, as plugins register them (plugins.local_executor: ``local``)."""
    from backend.plugins import collect_named

    return collect_named("register_executors")


def get_executor(name: str | None = None, *, root: Path | None = None, db: Any = None) -> Executor:
    """The executor called ``name`` (default: local). Unknown names raise ``KeyError`` with the known ones."""
    factories = executor_factories()
    name = name or DEFAULT_EXECUTOR
    if name not in factories:
        raise KeyError(f"unknown executor {name!r}; known: {', '.join(sorted(factories))}")
    return factories[name](root=root, db=db)
