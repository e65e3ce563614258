"""The requirement check of a card's model, through the model check (:mod:`backend.ideation.check`).

The board does not measure anything itself: it hands the card's code and the session's task to the
model check (a sandboxed job, like any run) and keeps the JSON it returns (``model``, ``params``,
``flops_per_sample``, ``peak_memory_bytes``, ``forward_ms``, ``verdict``, ``reasons``, or ``error``).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import sqlite_utils

from backend.pipeline.tasks import Task

CHECK_MODULE = "backend.ideation.check"


def check_available() -> bool:
    """Whether this build has the model check (the board says so instead of offering a dead button)."""
    return importlib.util.find_spec(CHECK_MODULE) is not None


def check_code(code: str, task: Task, *, db: sqlite_utils.Database | None = None, root: Path | None = None,
               cancel: threading.Event | None = None) -> dict:
    """The check's JSON for ``code`` under ``task``'s requirements (a failed build is an ``error``, not a raise)."""
    if not check_available():
        raise RuntimeError("The model check is not part of this build.")
    from backend.ideation import check as model_check

    result = model_check.check_program(code, task, db=db, root=root, cancel=cancel)
    return result.to_json() if hasattr(result, "to_json") else dict(result)
