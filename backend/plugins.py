"""The one place plugins are loaded, once (like simonw/llm's ``plugins.py``).

One rule for every registry: the first-party plugins in :data:`DEFAULT_PLUGINS` are always
registered, directly from that list (as llm's ``DEFAULT_PLUGINS``); entry points in the
``deepones`` group are for third-party plugins only, and ``DEEPONES_LOAD_PLUGINS=0`` turns off
those alone. Every registry (backends, tasks, formats, executors, parsers, workspaces) then
reads its hook and nothing else, so none needs a fallback of its own.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import pluggy

from backend import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "deepones"

# The first-party plugins, by module. Named here as strings so that backend imports nothing from
# ``plugins`` at import time; each module's hooks import their backend implementation lazily.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.replay_backend",
    "plugins.llama_backend",
    "plugins.openai_backend",
    "plugins.deepbench_tasks",
    "plugins.data_formats",
    "plugins.local_executor",
    "plugins.ray_executor",
    "plugins.log_parsers",
    "plugins.overview_workspace",
    "plugins.data_workspace",
    "plugins.chat_workspace",
    "plugins.design_workspace",
    "plugins.jobs_workspace",
    "plugins.bench_workspace",
    "plugins.traces_workspace",
    "plugins.train_workspace",
    "plugins.generate_workspace",
)

pm = pluggy.PluginManager("deepones")
pm.add_hookspecs(hookspecs)
_loaded = False   # the built-ins
_third_party_loaded = False
_load_lock = threading.RLock()
# Plugins whose module failed to import: name -> error. Reported by ``deepones doctor``.
plugin_errors: dict[str, str] = {}


def entry_points() -> list[tuple[str, str]]:
    """(name, "module[:attr]") for the ``deepones`` group: third-party plugins only."""
    import importlib.metadata as md

    return [(ep.name, ep.value) for ep in md.entry_points(group=ENTRY_POINT_GROUP)]


def _load(value: str) -> Any:
    module_name, _, attr = value.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def third_party_enabled() -> bool:
    """``DEEPONES_LOAD_PLUGINS=0`` turns off third-party (entry-point) plugins; built-ins stay."""
    return os.environ.get("DEEPONES_LOAD_PLUGINS", "1") != "0"


def _register(name: str, value: str) -> None:
    try:
        pm.register(_load(value), name=name)
    except Exception as exc:
        plugin_errors[name] = f"{type(exc).__name__}: {exc}"
        log.exception("plugin %s (%s) failed to load", name, value)


def load_builtin_plugins() -> pluggy.PluginManager:
    """Register the first-party plugins of :data:`DEFAULT_PLUGINS` (once)."""
    global _loaded
    # Under a lock: a second thread asking meanwhile (two jobs finalised at once, each parsing its
    # log) waits for every plugin instead of calling hooks no plugin is registered for yet. A plugin
    # that asks for plugins while it loads (same thread) gets them as registered so far, as before.
    with _load_lock:
        if _loaded:
            return pm
        _loaded = True
        for module_name in DEFAULT_PLUGINS:
            # Short names ("replay_backend"), as the entry points had: what doctor and Overview show.
            _register(module_name.rpartition(".")[2], module_name)
    return pm


def load_third_party_plugins() -> list[str]:
    """Register the ``deepones`` entry points (once; none with ``DEEPONES_LOAD_PLUGINS=0``).

    Apart from :func:`load_builtin_plugins` because the scan of every installed distribution's
    metadata costs ~35 ms of CPU: the GUI shows its window with the built-ins first and adds
    third-party workspaces right after (``MainWindow.add_third_party_workspaces``).
    Returns the names registered by this call.
    """
    global _third_party_loaded
    load_builtin_plugins()
    if _third_party_loaded or not third_party_enabled():
        return []
    _third_party_loaded = True
    added = []
    builtin = set(DEFAULT_PLUGINS)
    for name, value in entry_points():
        # An older install of this app may still declare the built-ins as entry points:
        # they are registered already, so skip them rather than register them twice.
        if value.partition(":")[0].strip() in builtin:
            continue
        if pm.get_plugin(name) is not None or pm.is_blocked(name):
            continue
        _register(name, value)
        if pm.get_plugin(name) is not None:
            added.append(name)
    return added


def load_plugins(*, third_party: bool = True) -> pluggy.PluginManager:
    """Register the built-in plugins, then (unless disabled, or ``third_party=False``) third-party
    entry points.

    A plugin that fails to import is logged and skipped (see :data:`plugin_errors`): one broken
    third-party package must not stop the app from starting.
    """
    load_builtin_plugins()
    if third_party:
        load_third_party_plugins()
    return pm


def third_party_loaded() -> bool:
    """Whether the entry points were scanned already (the GUI does it once its window is shown)."""
    return _third_party_loaded


def builtin_plugin_names() -> list[str]:
    return sorted(module_name.rpartition(".")[2] for module_name in DEFAULT_PLUGINS)


def plugin_names() -> list[str]:
    load_plugins()
    return sorted(name for name, plugin in pm.list_name_plugin() if plugin is not None)


def collect(hook_name: str, key: Callable[[Any], str] | None = None, *, third_party: bool = True) -> list[Any]:
    """Call hook ``hook_name`` with a ``register`` callback and return what was registered, in order.

    Each registration is passed as a tuple of its positional args (or the single arg itself).
    ``third_party=False`` does not load entry points (what is loaded already still answers).
    """
    load_plugins(third_party=third_party)
    items: list[Any] = []

    def register(*args: Any) -> None:
        items.append(args[0] if len(args) == 1 else args)

    getattr(pm.hook, hook_name)(register=register)
    return items


def collect_named(hook_name: str, *, third_party: bool = True) -> dict[str, Any]:
    """Registrations made as ``register(name, obj)`` or ``register(obj_with_name)``, keyed by name."""
    out: dict[str, Any] = {}
    for item in collect(hook_name, third_party=third_party):
        if isinstance(item, tuple):
            name, obj = item[0], item[1]
        else:
            name, obj = item.name, item
        if name in out:
            log.warning("plugin registration %r for %s overrides an earlier one", name, hook_name)
        out[name] = obj
    return out
