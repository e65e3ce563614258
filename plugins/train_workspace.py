"""Registers the Train workspace and the ``deepones train`` / ``deepones model convert`` commands' home.

The implementation lives in :mod:`backend.train` (runs, trainer, conversion) and
:mod:`deepones_gui.workspaces.train` (the page); this module only registers the page.
"""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.train.page import TrainPage

    return TrainPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("train", "Train", 70, _factory, icon="SP_ArrowUp",
                           tooltip="Fine-tune a designer on curated DeepData, convert it to GGUF, use it"))
