"""Registers the Design workspace: step through the DeepBench pipeline with editable panes."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.design.page import DesignPage

    return DesignPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("design", "Design", 30, _factory, icon="SP_FileDialogContentsView",
                           tooltip="Propose, improve, implement, debug and run a deep learning program",
                           listens=("send_to_design",)))
