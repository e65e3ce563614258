"""The README's screenshot scenes, one module per workspace, built through the pages' public APIs.

A scene module has ``prepare(page)`` (puts the state on screen: data recorded through the backend as
another process would, or the page driven as a user drives it), ``ready(page) -> bool`` (its content
has landed; polled while the event loop runs) and optionally ``extras(page, out_dir)``: more views of
the workspace, as ``(name, show)`` pairs to grab after ``show()`` or paths it saved itself.
A workspace without a scene is shot as it opens, once ``page.ready()``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

WITH_SCENES = ("bench", "chat", "data", "design", "generate", "jobs", "models", "traces", "train")


def scene(workspace: str) -> ModuleType | None:
    if workspace not in WITH_SCENES:
        return None
    return importlib.import_module(f"screenshot_scenes.{workspace}")
