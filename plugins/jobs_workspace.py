"""Registers the Jobs workspace: job list, live metric charts, logs and the GPU monitor."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.jobs.page import JobsPage

    return JobsPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("jobs", "Jobs", 40, _factory, icon="SP_MediaPlay",
                           tooltip="Running and finished jobs: live metric charts, logs, GPUs"))
