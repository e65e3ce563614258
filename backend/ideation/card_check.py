"""The requirement check of a card's model, through the model check (:mod:`backend.ideation.check`).

The board measures nothing itself: it hands the card's code and the session's task to the model
check (a sandboxed job, like any run) and keeps the result's JSON on the card's step (``model``,
``params``, ``flops_per_sample``, ``peak_memory_bytes``, ``forward_ms``, ``verdict``, ``reasons``,
and the diagram the diagram diff compares).
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlite_utils

from backend.ideation.check import check_program
from backend.ideation.result import CheckLimits, CheckRequest, CheckResult
from backend.ideation.verdict import apply_verdict
from backend.pipeline.state import SessionSettings
from backend.pipeline.tasks import Task


def check_code(
    code: str,
    task: Task,
    settings: SessionSettings | None = None,
    *,
    db: sqlite_utils.Database | None = None,
    root: Path | None = None,
    cancel: threading.Event | None = None,
    origin: str = "",
) -> dict:
    """The check's JSON for ``code`` under ``task``'s requirements. A model that cannot be built, a
    task without an input shape, a timeout: all come back as a result saying so, never a raise."""
    settings = settings or SessionSettings()
    try:
        request = CheckRequest.for_task(task)
    except ValueError as exc:
        return apply_verdict(CheckResult(status="failed", error=str(exc)), CheckLimits()).to_dict()
    result = check_program(
        code,
        request,
        root=root,
        db=db,
        executor=settings.executor,
        interpreter=settings.interpreter or None,
        cancel=cancel,
        origin=origin,
    )
    return result.to_dict()
