"""The local executor: jobs as sandboxed child processes on this machine. The implementation is
:class:`backend.jobs.executors.LocalExecutor`; this module only registers it."""

from __future__ import annotations

from backend.hookspecs import hookimpl


@hookimpl
def register_executors(register):
    from backend.jobs.executors import LocalExecutor

    register("local", LocalExecutor)
