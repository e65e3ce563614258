"""The one place plugins are loaded, once (like simonw/llm's ``plugins.py``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import pluggy

from backend import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "deepones"

pm = pluggy.PluginManager("deepones")
pm.add_hookspecs(hookspecs)
_loaded = False


def load_plugins() -> pluggy.PluginManager:
    """Load every plugin from the ``deepones`` entry-point group (first-party ones included)."""
    global _loaded
    if not _loaded:
        _loaded = True
        # DEEPONES_LOAD_PLUGINS= (empty) disables third-party discovery for a clean-room run.
        if os.environ.get("DEEPONES_LOAD_PLUGINS", "1") != "0":
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def plugin_names() -> list[str]:
    load_plugins()
    return sorted(name for name, plugin in pm.list_name_plugin() if plugin is not None)


def collect(hook_name: str, key: Callable[[Any], str] | None = None) -> list[Any]:
    """Call hook ``hook_name`` with a ``register`` callback and return what was registered, in order.

    Each registration is passed as a tuple of its positional args (or the single arg itself).
    """
    load_plugins()
    items: list[Any] = []

    def register(*args: Any) -> None:
        items.append(args[0] if len(args) == 1 else args)

    getattr(pm.hook, hook_name)(register=register)
    return items


def collect_named(hook_name: str) -> dict[str, Any]:
    """Registrations made as ``register(name, obj)`` or ``register(obj_with_name)``, keyed by name."""
    out: dict[str, Any] = {}
    for item in collect(hook_name):
        if isinstance(item, tuple):
            name, obj = item[0], item[1]
        else:
            name, obj = item.name, item
        if name in out:
            log.warning("plugin registration %r for %s overrides an earlier one", name, hook_name)
        out[name] = obj
    return out
