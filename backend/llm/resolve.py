"""Turn a model spec ("embedded", a GGUF path, a URL, "replay:PATH", ...) into a ChatBackend."""

from __future__ import annotations

from backend import plugins
from backend.llm.base import BackendError, ChatBackend


def builtin_backends() -> dict[str, object]:
    """Backends that work with plugins disabled (``DEEPONES_LOAD_PLUGINS=0``)."""
    from backend.llm.replay import ReplayBackend

    return {"replay:": ReplayBackend}


def backend_factories() -> dict[str, object]:
    """{prefix: factory}: the built-in ones, then every plugin's ``register_backends``."""
    return {**builtin_backends(), **plugins.collect_named("register_backends")}


def get_backend(spec: str, **options) -> ChatBackend:
    """The backend for ``spec``: the longest registered prefix that matches wins."""
    factories = backend_factories()
    for prefix in sorted(factories, key=len, reverse=True):
        if spec.startswith(prefix):
            return factories[prefix](spec, **options)
    known = ", ".join(sorted(factories)) or "none"
    raise BackendError(f"No model backend handles {spec!r} (known prefixes: {known}).", retryable=False)
