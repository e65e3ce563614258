"""Registers the Jobs workspace: job list, live metric charts, logs and the GPU monitor."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import JOBS

    register(JOBS)
