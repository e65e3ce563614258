"""Registers the Train workspace and the ``deepones train`` / ``deepones model convert`` commands' home.

The implementation lives in :mod:`backend.train` (runs, trainer, conversion) and
:mod:`deepones_gui.workspaces.train` (the page); this module only registers the page.
"""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import TRAIN

    register(TRAIN)
