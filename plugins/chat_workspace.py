"""Registers the Chat workspace and the Models (model manager) workspace."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _chat(ctx):
    from deepones_gui.workspaces.chat.page import ChatPage

    return ChatPage(ctx)


def _models(ctx):
    from deepones_gui.workspaces.chat.models_page import ModelManagerPage

    return ModelManagerPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("chat", "Chat", 20, _chat, icon="SP_MessageBoxInformation",
                           tooltip="Talk to the designer model: local GGUF or any OpenAI-compatible endpoint"))
    register(WorkspaceSpec("models", "Models", 25, _models, icon="SP_DriveHDIcon",
                           tooltip="Local GGUF models: metadata, memory, pull from the hub, quantise, defaults"))
