"""What a file dropped onto the window is, so it goes to the workspace that handles it.

``.gguf`` -> Models (added and inspected), ``.jsonl``/``.json``/``.parquet`` -> Data import, ``.py`` -> a
job, and a JSON that is a trace export (``"schema": "deepones.trace"``) -> Traces. Only the first few
KB of a JSON file are read to tell a trace from a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TRACE_SCHEMA_MARK = '"deepones.trace"'
KINDS = ("model", "data", "program", "trace")
SUFFIXES = (".gguf", ".py", ".json", ".jsonl", ".parquet")


@dataclass
class DropPlan:
    """Dropped paths by kind, and what cannot be used (with the reason)."""

    by_kind: dict[str, list[Path]] = field(default_factory=lambda: {k: [] for k in KINDS})
    refused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(self.by_kind.values())


def _is_trace_json(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return '"schema"' in head and TRACE_SCHEMA_MARK in head


def classify(path: Path) -> str | None:
    """The kind of one dropped file, or None when nothing in the app takes it."""
    suffix = path.suffix.lower()
    if suffix == ".gguf":
        return "model"
    if suffix == ".py":
        return "program"
    if suffix in (".json", ".jsonl"):
        return "trace" if _is_trace_json(path) else "data"
    if suffix == ".parquet":
        return "data"
    return None


def plan_drop(paths: list[Path]) -> DropPlan:
    plan = DropPlan()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            plan.refused.append((path, "not a file"))
            continue
        kind = classify(path)
        if kind is None:
            plan.refused.append((path, "not a model (.gguf), data (.jsonl, .json, .parquet), program (.py) or trace"))
        else:
            plan.by_kind[kind].append(path)
    return plan
