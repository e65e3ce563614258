"""Run a model check: the program and the probe as one sandboxed job (the program is untrusted).

``check_program(code, request)`` blocks (call it off the GUI thread) and always returns a
:class:`CheckResult`: a program that cannot be built gives its traceback, a check over its time
limit gives ``status="timeout"``, a launcher that cannot start gives ``status="failed"``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.ideation.result import CheckRequest, CheckResult
from backend.ideation.verdict import apply_verdict

PROGRAM_FILE = "program.py"
REQUEST_FILE = "check_request.json"
RESULT_FILE = "check.json"
PROBE_FILES = ("model_probe.py", "trace_probe.py")
_HERE = Path(__file__).parent


def check_spec(code: str, request: CheckRequest, *, interpreter: str | None = None, origin: str = "",
               name: str = "") -> Any:
    """The job that checks ``code``: the program, the probe files and the request, in one job folder."""
    from backend.jobs.spec import JobLimits, JobSpec

    files = {PROGRAM_FILE: code, REQUEST_FILE: json.dumps(request.probe_config(PROGRAM_FILE))}
    for probe in PROBE_FILES:
        files[probe] = (_HERE / probe).read_text("utf-8")
    env = {"PYTHONUNBUFFERED": "1", "DEEPONES_STAGE": "check"}
    if request.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""    # torch in the job then sees no GPU at all
    return JobSpec(argv=["model_probe.py", REQUEST_FILE], interpreter=interpreter,
                   name=name or "model check", files=files, env=env, origin=origin or "check",
                   limits=JobLimits(time_limit_s=float(request.timeout_s), train_time_limit_s=float(request.timeout_s),
                                    kill_grace_s=2.0))


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text("utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def result_from_job(job: Any, request: CheckRequest) -> CheckResult:
    """Read ``check.json`` of a finished job; a job that ended without one says why."""
    raw: dict | None = None
    try:
        raw = json.loads((Path(job.workdir) / RESULT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        raw = None
    if raw is not None:
        result = CheckResult.from_dict(raw)
    else:
        stderr = _tail(job.stderr_path)
        if job.status in ("timeout", "cancelled", "memory"):
            status = job.status if job.status != "memory" else "oom"
            error = {"timeout": f"no result within {request.timeout_s:g} s (the job was stopped)",
                     "cancelled": "cancelled before it finished",
                     "oom": f"the job went over its memory limit ({job.reason or 'killed'})"}[status]
        else:
            status, error = "failed", job.reason or (stderr.strip().splitlines() or ["the probe wrote no result"])[-1]
        result = CheckResult(status=status, error=error, traceback=stderr)
    result.job_id = job.job_id
    result.timings = {**result.timings, "job_wall_s": job.wall_s}
    return apply_verdict(result, request.limits)


def check_program(code: str, request: CheckRequest, *, root: Path | None = None, db: Any = None,
                  executor: str | None = None, interpreter: str | None = None,
                  cancel: threading.Event | None = None, on_output: Callable[[str, str], None] | None = None,
                  on_start: Callable[[str], None] | None = None, origin: str = "") -> CheckResult:
    """Check ``code`` through the job launcher (the named executor, default local)."""
    from backend.jobs.executors import get_executor
    from backend.jobs.runner import JobError

    spec = check_spec(code, request, interpreter=interpreter, origin=origin)
    try:
        handle = get_executor(executor, root=root, db=db).submit(spec)
    except (JobError, KeyError, OSError) as exc:
        return apply_verdict(CheckResult(status="failed", error=str(exc).strip("'\"")), request.limits)
    if on_start is not None:
        on_start(handle.job_id)
    job = handle.wait(on_output=on_output, cancel=cancel)
    if db is not None:
        from backend.jobs.finalise import finalise_job

        finalise_job(db, job, handle.status())
    if cancel is not None and cancel.is_set() and job.status != "succeeded":
        job.status = "cancelled"
    return result_from_job(job, request)


def check_file(path: Path | str, request: CheckRequest, **kwargs: Any) -> CheckResult:
    """Check a program file; an unreadable file is a ``failed`` result with the reason."""
    try:
        code = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return apply_verdict(CheckResult(status="failed", error=f"cannot read {path}: {exc}"), request.limits)
    return check_program(code, request, **kwargs)
