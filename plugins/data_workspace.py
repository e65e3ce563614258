"""Registers the Data workspace: browse, search, curate and export DeepData."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import DATA

    register(DATA)
