"""Registers the Data workspace: browse, search, curate and export DeepData."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.data.page import DataPage

    return DataPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("data", "Data", 10, _factory, icon="SP_FileDialogDetailedView",
                           tooltip="Import, browse, search, curate and export DeepData"))
