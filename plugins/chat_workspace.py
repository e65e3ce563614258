"""Registers the Chat workspace and the Models (model manager) workspace."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import CHAT, MODELS

    register(CHAT)
    register(MODELS)
