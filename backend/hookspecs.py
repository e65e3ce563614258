"""Plugin hooks. Each takes a ``register`` callback, as simonw/llm's hooks do.

A plugin module implements any of these with ``@hookimpl``. First-party ones (``plugins/``) are
listed in :data:`backend.plugins.DEFAULT_PLUGINS`; third-party ones declare an entry point in the
``deepones`` group. Hooks must stay cheap: they
register names and factories; heavy imports happen inside the factories.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("deepones")
hookimpl = pluggy.HookimplMarker("deepones")


@hookspec
def register_tasks(register):
    """register(task) - a DeepBench-style task object with a unique ``name``."""


@hookspec
def register_backends(register):
    """register(prefix, factory) - a chat backend for model specs starting with ``prefix``.

    ``factory(spec: str, **options) -> ChatBackend``; see :mod:`backend.llm.base`.
    """


@hookspec
def register_formats(register):
    """register(format) - a dataset import/export format with a unique ``name``."""


@hookspec
def register_executors(register):
    """register(name, factory) - a job executor (local, ray, ...)."""


@hookspec
def register_log_parsers(register):
    """register(name, parser) - a metric parser for training-log lines."""


@hookspec
def register_workspaces(register):
    """register(workspace) - a GUI workspace descriptor (:class:`backend.workspaces.WorkspaceSpec`).

    The descriptor holds a factory that imports Qt lazily, so the hook itself stays Qt-free.
    """


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``deepones`` CLI group ``cli``."""
