"""Turn a model spec ("embedded", a GGUF path, a URL, "replay:PATH", ...) into a ChatBackend."""

from __future__ import annotations

from backend import plugins
from backend.llm.base import BackendError, ChatBackend


def backend_factories(*, third_party: bool = True) -> dict[str, object]:
    """{prefix: factory} from every plugin's ``register_backends`` (the built-in plugins always load;
    ``third_party=False`` does not scan entry points)."""
    return plugins.collect_named("register_backends", third_party=third_party)


def get_backend(spec: str, **options) -> ChatBackend:
    """The backend for ``spec``: the longest registered prefix that matches wins."""
    factories = backend_factories()
    for prefix in sorted(factories, key=len, reverse=True):
        if spec.startswith(prefix):
            return factories[prefix](spec, **options)
    known = ", ".join(sorted(factories)) or "none"
    raise BackendError(f"No model backend handles {spec!r} (known prefixes: {known}).", retryable=False)


class BackendCache:
    """One backend per model spec, made on first use and shared by the threads of one owner (a
    design run's designer and programmer, a board's proposals): a local model loads once."""

    def __init__(self) -> None:
        import threading

        self._backends: dict[str, ChatBackend] = {}
        self._lock = threading.Lock()

    def get(self, spec: str) -> ChatBackend:
        with self._lock:
            if spec not in self._backends:
                self._backends[spec] = get_backend(spec)
            return self._backends[spec]

    def close(self) -> None:
        """Release every backend made (their model workers); the cache starts empty again."""
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
