"""Naming what went wrong in a run: the exception class from the traceback, or timeout / memory.

These names feed the debug prompt, the stage header and the error-type statistics of the
paper's Figure 7 (ModuleNotFoundError, RuntimeError, AttributeError, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.jobs.spec import JobStatus

TIMEOUT, MEMORY, NO_SCORE, CANCELLED = "Timeout", "OutOfMemory", "NoScore", "Cancelled"
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault)|[A-Za-z_][\w.]*)(?::\s?(.*))?$")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?')
_OOM = re.compile(r"out of memory|OutOfMemoryError|MemoryError|Cannot allocate memory", re.IGNORECASE)


@dataclass
class TracebackFrame:
    file: str
    line: int
    func: str
    text_line: int  # 0-based line index inside the stderr text


def exception_from_traceback(stderr: str) -> tuple[str, str] | None:
    """(class name, message) of the last traceback in ``stderr``; dotted names keep the last part."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return None
    for line in reversed(lines[starts[-1] + 1 :]):
        if not line.strip() or line.startswith((" ", "\t")):
            continue
        match = _EXC_LINE.match(line.strip())
        if match and not line.startswith(("Traceback", "During handling", "The above exception")):
            return match.group(1).rsplit(".", 1)[-1], (match.group(2) or "").strip()
    return None


def classify_error(status: str, stderr: str, score: float | None) -> str | None:
    """The error type of a finished run, or None when it produced a score."""
    if status == JobStatus.TIMEOUT:
        return TIMEOUT
    if status == JobStatus.MEMORY:
        return MEMORY
    if status == JobStatus.CANCELLED:
        return CANCELLED
    found = exception_from_traceback(stderr)
    if found:
        name = found[0]
        return MEMORY if _OOM.search(name) else name
    if status in (JobStatus.FAILED, JobStatus.LOST):
        if _OOM.search(stderr[-2000:]):
            return MEMORY
        return "Killed" if status == JobStatus.LOST else "ExitError"
    if score is None:
        return NO_SCORE
    return None


def traceback_frames(stderr: str) -> list[TracebackFrame]:
    """Every 'File "...", line N' in stderr (for click-to-jump in the traceback view)."""
    frames = []
    for i, line in enumerate(stderr.splitlines()):
        match = _FRAME.match(line)
        if match:
            frames.append(TracebackFrame(match["file"], int(match["line"]), match["func"] or "", i))
    return frames


def describe_error(error_type: str | None) -> str:
    return {
        TIMEOUT: "the run hit its time limit",
        MEMORY: "the run ran out of memory",
        NO_SCORE: "the program ran to the end (its job succeeded) but wrote no score to metric.log, "
                  "so the stage counts as failed",
        CANCELLED: "the run was stopped",
        "SyntaxError": "the program does not parse (not run)",
    }.get(error_type or "", error_type or "")
