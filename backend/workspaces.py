"""GUI workspace descriptors: Qt-free, so plugins can register them without importing Qt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend import plugins


@dataclass(frozen=True)
class WorkspaceSpec:
    name: str          # unique id, e.g. "data"
    title: str         # shown in the navigation, e.g. "Data"
    order: int         # position in the navigation (Data 10, Chat 20, Design 30, Jobs 40, Bench 50, Traces 60)
    factory: Callable[[Any], Any]   # factory(app_context) -> QWidget; imports Qt lazily
    icon: str = ""     # a QStyle standard pixmap name, e.g. "SP_DirIcon"
    tooltip: str = ""
    shortcut: str = ""  # e.g. "Ctrl+1"
    # Broadcast names (AppContext.broadcast) this workspace handles. If one arrives before the
    # page is built, the main window builds it and hands the message to ``page.on_broadcast``.
    listens: tuple[str, ...] = ()
    # Whether the page uses the store on the GUI thread (ctx.db). The window opens it before building
    # such a page, so sqlite-utils is first imported by the store (without numpy) and not by one of
    # the page's modules; a page that needs none (Overview) is built without waiting for it.
    needs_store: bool = True


def workspaces(*, third_party: bool = True) -> list[WorkspaceSpec]:
    """Registered workspaces in navigation order; ``third_party=False`` does not scan entry points."""
    specs = plugins.collect("register_workspaces", third_party=third_party)
    return sorted(specs, key=lambda s: (s.order, s.name))
