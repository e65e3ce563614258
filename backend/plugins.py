"""The one place plugins are loaded, once (like simonw/llm's ``plugins.py``)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy

from backend import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "deepones"

pm = pluggy.PluginManager("deepones")
pm.add_hookspecs(hookspecs)
_loaded = False
# Plugins whose module failed to import: name -> error. Reported by ``deepones doctor``.
plugin_errors: dict[str, str] = {}


def _cache_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("deepones")) / "entry-points.json"


def _path_signature() -> list[list]:
    # Installing or removing a distribution rewrites its dist-info folder, which changes the
    # modification time of the sys.path folder that holds it. The script's own folder or the
    # current directory (sys.path[0]) changes all the time and holds no installed distributions.
    signature = []
    for entry in sys.path[1:]:
        try:
            signature.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            continue
    return signature


def entry_points() -> list[tuple[str, str]]:
    """(name, "module[:attr]") for the ``deepones`` group, cached against sys.path's folders.

    Scanning every installed distribution (and importing importlib.metadata) costs tens of
    milliseconds at each start-up; the cache is reused until something is (un)installed.
    """
    cache, signature = _cache_file(), _path_signature()
    try:
        data = json.loads(cache.read_text("utf-8"))
        if data["group"] == ENTRY_POINT_GROUP and data["signature"] == signature:
            return [tuple(ep) for ep in data["entry_points"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import importlib.metadata as md

    found = [(ep.name, ep.value) for ep in md.entry_points(group=ENTRY_POINT_GROUP)]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".entry-points-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"group": ENTRY_POINT_GROUP, "signature": signature, "entry_points": found}, fh)
        os.replace(tmp, cache)
    except OSError as exc:  # a read-only cache dir only costs speed
        log.debug("entry-point cache not written: %s", exc)
    return found


def _load(value: str) -> Any:
    module_name, _, attr = value.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def load_plugins() -> pluggy.PluginManager:
    """Load every plugin from the ``deepones`` entry-point group (first-party ones included).

    A plugin that fails to import is logged and skipped (see :data:`plugin_errors`): one broken
    third-party package must not stop the app from starting.
    """
    global _loaded
    if not _loaded:
        _loaded = True
        # DEEPONES_LOAD_PLUGINS=0 disables entry-point discovery for a clean-room run.
        if os.environ.get("DEEPONES_LOAD_PLUGINS", "1") != "0":
            for name, value in entry_points():
                if pm.get_plugin(name) is not None or pm.is_blocked(name):
                    continue
                try:
                    pm.register(_load(value), name=name)
                except Exception as exc:  # noqa: BLE001 - reported, not fatal
                    plugin_errors[name] = f"{type(exc).__name__}: {exc}"
                    log.exception("plugin %s (%s) failed to load", name, value)
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
