"""Registers the Overview workspace: what this installation has, checked live."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import OVERVIEW

    register(OVERVIEW)
