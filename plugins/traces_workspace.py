"""Registers the Traces workspace: inspect, label and export debug traces across design sessions."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.traces.page import TracesPage

    return TracesPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("traces", "Traces", 60, _factory, icon="SP_FileDialogDetailedView",
                           tooltip="Failed debug traces across sessions: filter, label, diff, export",
                           listens=("open_trace",)))
