"""Registers the Design workspace: step through the DeepBench pipeline with editable panes."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import DESIGN

    register(DESIGN)
