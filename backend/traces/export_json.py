"""Traces as portable files: one trace as JSON (+ its code files), a set of traces as JSONL.

Schema ``deepones.trace`` version 1 (one object; a JSONL file holds one per line)::

    {"schema": "deepones.trace", "version": 1, "exported_at": <epoch s>,
     "trace": {"session_id", "title", "task", "task_description", "designer", "programmer",
               "status", "created_at", "outcome" (failed|recovered|clean|never_ran|open),
               "labels": [str], "notes": [{"text", "author", "created_at"}],
               "attempts": [{"id", "parent_id" (null for the root), "stage", "attempt", "status",
                             "prompt", "response", "code" (the code that ran), "edited_code" (null
                             unless edited after the run), "stdout", "stderr" (head+tail capped),
                             "error_type", "debug_log", "score", "job_id", "model", "origin",
                             "prompt_tokens", "completion_tokens", "timings": {}, "created_at",
                             "labels": [str], "notes": [...]}]},
     "code_files": {"<attempt id>": "<folder>/<file>.py"}}   (JSON export only)

A reader must refuse a ``version`` it does not know (:func:`read_traces` does).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from backend.errors import UserError
from backend.traces.model import Trace

SCHEMA, VERSION = "deepones.trace", 1


class TraceFileError(UserError, ValueError):
    """A file that is not a trace export this version can read; ``str(exc)`` says why."""


def envelope(trace: Trace) -> dict:
    return {"schema": SCHEMA, "version": VERSION, "exported_at": time.time(), "trace": trace.to_dict()}


def safe_name_part(text: str, limit: int = 40) -> str:
    """``text`` as part of a file name: a stage name comes from a trace file, which anyone can write
    ("../x", NUL, 300 characters), so only letters, digits, '-' and '_' are kept, capped in length."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:limit]
    return cleaned or "stage"


def code_file_name(attempt) -> str:
    suffix = f"-{attempt.attempt}" if attempt.stage in ("debug", "validate") else ""
    return f"{int(attempt.id):06d}-{safe_name_part(str(attempt.stage))}{suffix}.py"


def write_json(trace: Trace, out: Path) -> list[Path]:
    """``out`` (.json) plus ``<stem>_code/`` with every attempt's code; returns the files written."""
    out = Path(out)
    folder = out.with_name(f"{out.stem}_code")
    data = envelope(trace)
    written = []
    files = {}
    with_code = [a for a in trace.attempts if a.code]
    if with_code:
        folder.mkdir(parents=True, exist_ok=True)
    for a in with_code:
        path = folder / code_file_name(a)
        path.write_text(a.code, "utf-8")
        files[str(a.id)] = f"{folder.name}/{path.name}"
        written.append(path)
    data["code_files"] = files
    atomic_write(out, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return [out, *written]


def write_jsonl(traces: Iterable[Trace], out: Path) -> int:
    lines = [json.dumps(envelope(t), ensure_ascii=False) for t in traces]
    atomic_write(Path(out), "".join(line + "\n" for line in lines))
    return len(lines)


def atomic_write(path: Path, text: str) -> None:
    # Nothing half-written: a failed export leaves no partial file behind, and a device or FIFO
    # target is refused rather than replaced by a regular file.
    from backend.outfiles import partial_file

    with partial_file(path, None) as tmp:
        tmp.write_text(text, "utf-8")
        tmp.replace(path)


def _parse(obj: object, where: str) -> Trace:
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
        raise TraceFileError(f"{where}: not a DeepOnes trace export (no \"schema\": \"{SCHEMA}\").")
    if obj.get("version") != VERSION:
        raise TraceFileError(f"{where}: trace format version {obj.get('version')!r}; this app reads version {VERSION}.")
    try:
        return Trace.from_dict(obj["trace"])
    except (KeyError, TypeError) as exc:
        raise TraceFileError(f"{where}: malformed trace ({exc}).") from exc


def read_traces(path: Path) -> Iterator[Trace]:
    """Traces from a .json or .jsonl export."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceFileError(f"{path}: cannot be read ({exc}).") from exc
    if path.suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield _parse(json.loads(line), f"{path}, line {n}")
                except ValueError as exc:
                    if isinstance(exc, TraceFileError):
                        raise
                    raise TraceFileError(f"{path}, line {n}: not JSON ({exc}).") from exc
        return
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise TraceFileError(f"{path}: not JSON ({exc}).") from exc
    yield _parse(obj, str(path))
