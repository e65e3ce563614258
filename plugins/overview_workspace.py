"""Registers the Overview workspace: what this installation has, checked live."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.overview import OverviewPage

    return OverviewPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("overview", "Overview", 0, _factory, icon="SP_ComputerIcon",
                           tooltip="Your setup at a glance: models, GPUs, data, plugins"))
