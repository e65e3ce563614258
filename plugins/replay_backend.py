"""Registers ``replay:PATH`` (recorded answers from a JSONL file). The implementation is
:class:`backend.llm.replay.ReplayBackend`; this module only registers it."""

from __future__ import annotations

from backend.hookspecs import hookimpl


@hookimpl
def register_backends(register):
    from backend.llm.replay import ReplayBackend

    register("replay:", ReplayBackend)
