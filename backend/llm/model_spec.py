"""The model-spec mini-language, resolved once: ``ModelSpec.parse(spec)``.

A spec is what the user picks or types: ``embedded``, a GGUF path or model name, ``gguf:PATH``,
an endpoint URL (``http(s)://host/v1#model``), ``replay:FILE``, or whatever prefix a third-party
plugin registers. The backend registered for the longest matching prefix (as
:func:`backend.llm.resolve.get_backend` chooses it) says what kind of model it is through its
class attribute ``kind`` — ``local`` (a GGUF loaded in a model worker here), ``endpoint`` (a
server), ``replay`` (recorded answers) or, for any other backend, ``other`` — so every caller asks
the spec instead of matching prefixes itself, and a third-party backend works everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

LOCAL, ENDPOINT, REPLAY, OTHER = "local", "endpoint", "replay", "other"


@dataclass(frozen=True)
class ModelSpec:
    raw: str
    prefix: str          # the registered prefix that matched ("" for the GGUF fallback)
    kind: str            # LOCAL, ENDPOINT, REPLAY or OTHER

    @classmethod
    def parse(cls, spec: str, *, third_party: bool = True) -> ModelSpec:
        """``third_party=False``: resolve with what is registered now, without scanning entry points
        (the window's first frame; it resolves again once they are loaded)."""
        from backend.llm.resolve import backend_factories

        spec = (spec or "").strip()
        factories = backend_factories(third_party=third_party)
        for prefix in sorted(factories, key=len, reverse=True):
            if spec.startswith(prefix):
                return cls(spec, prefix, getattr(factories[prefix], "kind", OTHER))
        return cls(spec, "", OTHER)

    # -- what it is --------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """A model file loaded on this machine (it has a path, a size, a load time)."""
        return self.kind == LOCAL

    @property
    def is_endpoint(self) -> bool:
        return self.kind == ENDPOINT

    @property
    def is_replay(self) -> bool:
        return self.kind == REPLAY

    @property
    def rest(self) -> str:
        """The spec after a scheme-like prefix (``replay:FILE``, ``gguf:PATH``); else the whole spec
        (a URL, ``embedded``, a path or model name)."""
        return self.raw[len(self.prefix):] if self.prefix.endswith(":") else self.raw

    @property
    def replay_file(self) -> Path | None:
        return Path(self.rest).expanduser() if self.is_replay else None

    # -- how to show it ----------------------------------------------------------------------
    def describe(self) -> str:
        """A name for a title or a menu."""
        if self.raw in ("", "embedded"):
            return "SmolLM2-135M (embedded)"
        if self.is_replay:
            return f"replay: {PurePath(self.rest).name}"
        if self.is_local:
            return PurePath(self.rest).name or self.raw
        return self.raw

    def label(self) -> str:
        """A short name for a table column: a file's name, an endpoint's URL, anything else as is."""
        if self.is_endpoint:
            return self.raw
        raw = self.rest if (self.is_local or self.is_replay) else self.raw
        return PurePath(raw).name if ("/" in raw or "\\" in raw) else raw


def parse(spec: str) -> ModelSpec:
    return ModelSpec.parse(spec)
