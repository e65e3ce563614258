"""Registers the Traces workspace: inspect, label and export debug traces across design sessions."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import TRACES

    register(TRACES)
