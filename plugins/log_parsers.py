"""Registers the built-in metric parsers (:mod:`backend.jobs.parsers`); third-party plugins add
theirs the same way (``register(name, parser)``, a parser maps a line to ``Parsed`` or None)."""

from __future__ import annotations

from backend.hookspecs import hookimpl


@hookimpl
def register_log_parsers(register):
    from backend.jobs.parsers import PARSERS

    for parser in PARSERS:
        register(parser.name, parser)
