"""validate(C) and full_run(C_O): generated programs run as sandboxed jobs (the Jobs contract).

Every run goes through the executor named in the session's settings (``SessionSettings.executor``,
default "local"; see :mod:`backend.jobs.executors`), so a session can run its programs elsewhere.

The validation run tells the program to use a small subset for one epoch through environment
variables (the implement prompt asks the programmer to read them); the full run passes the
training time limit. Output streams back through ``on_output``; the score is what the program
wrote to ``metric.log``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from backend import paths
from backend.jobs.spec import JobLimits, JobSpec, JobStatus
from backend.pipeline.errors import classify_error
from backend.pipeline.state import SessionSettings

PROGRAM_FILE = "program.py"
OutputCallback = Callable[[str, str], None]   # (stream "stdout" | "stderr", text)


@dataclass
class RunOutcome:
    status: str                 # succeeded | failed | timeout | memory | cancelled | lost
    score: float | None
    stdout: str
    stderr: str
    error_type: str | None
    job_id: str | None
    workdir: Path | None
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.score is not None


def program_spec(code: str, kind: str, settings: SessionSettings, *, name: str = "", origin: str = "",
                 root: Path | None = None) -> JobSpec:
    """The JobSpec for a validation run (kind "validate") or the full run (kind "final")."""
    # Where the task descriptions say local datasets live: $DEEPONES_DATA, else <data dir>/datasets.
    # Programs download their data sets there (a shared cache of the tasks' data), so a confined
    # run may write that folder besides its own; it must exist for Landlock to grant it.
    data = os.environ.get("DEEPONES_DATA") or str((root or paths.data_dir()) / "datasets")
    try:
        Path(data).mkdir(parents=True, exist_ok=True)
    except OSError:
        pass   # the program reports what it cannot read; confinement then grants nothing extra
    env = {"DEEPONES_STAGE": kind, "PYTHONUNBUFFERED": "1", "DEEPONES_DATA": data}
    if kind == "validate":
        env.update({"DEEPONES_SUBSET": str(settings.subset_size), "DEEPONES_EPOCHS": "1"})
        time_limit = min(settings.validation_time_limit_s, settings.time_limit_s)
        train_limit = min(settings.train_time_limit_s, time_limit)
    else:
        time_limit, train_limit = settings.time_limit_s, settings.train_time_limit_s
    return JobSpec(
        argv=[PROGRAM_FILE],
        interpreter=settings.interpreter or None,
        name=name or f"design {kind}",
        files={PROGRAM_FILE: code},
        env=env,
        limits=JobLimits(time_limit_s=float(time_limit), train_time_limit_s=float(train_limit),
                         memory_limit_mb=settings.memory_limit_mb),
        no_network=settings.no_network,
        origin=origin,
        extra_write=[data] if Path(data).is_dir() else [],
    )


STORED_LOG_HEAD, STORED_LOG_TAIL = 32_000, 160_000
# After the job: how long its stream may take to send the rest of its output, then its metrics
# (past that, the final record parses the log itself).
STREAM_END_WAIT_S, METRICS_GRACE_S = 30.0, 2.0


def _read(path: Path) -> str:
    """A run's log as kept in the step: head and tail (errors are at the end); the job dir has it all."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if size <= STORED_LOG_HEAD + STORED_LOG_TAIL:
                return fh.read().decode("utf-8", errors="replace")
            head = fh.read(STORED_LOG_HEAD)
            fh.seek(size - STORED_LOG_TAIL)
            tail = fh.read()
    except OSError:
        return ""
    cut = size - STORED_LOG_HEAD - STORED_LOG_TAIL
    return (head.decode("utf-8", errors="replace") + f"\n[... {cut:,} bytes cut; the whole log is in {path} ...]\n"
            + tail.decode("utf-8", errors="replace"))


def _launch_s(workdir: Path, called_at: float) -> float | None:
    """Seconds from calling run_job to the program starting (the sandbox's own launch time)."""
    try:
        started = json.loads((workdir / "status.json").read_text("utf-8")).get("started_at")
    except (OSError, ValueError):
        return None
    return max(0.0, float(started) - called_at) if started else None


def run_program(
    code: str,
    kind: str,
    settings: SessionSettings,
    *,
    root: Path | None = None,
    db: sqlite_utils.Database | None = None,
    on_output: OutputCallback | None = None,
    cancel: threading.Event | None = None,
    name: str = "",
    origin: str = "",
    on_start: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run a program through the session's executor; ``on_start(job_id)`` is called once it is launched.

    The job's one event stream (:func:`backend.jobs.watch.open_stream`) carries its output to
    ``on_output`` and its metrics to the final record; a stage's live chart subscribes to the same
    stream, so the log is tailed and parsed once.
    """
    from backend.jobs.executors import get_executor
    from backend.jobs.finalise import finalise_job
    from backend.jobs.watch import open_stream

    spec = program_spec(code, kind, settings, name=name, origin=origin, root=root)
    executor = get_executor(settings.executor, root=root, db=db)
    called_at = time.time()
    t0 = time.perf_counter()
    handle = executor.submit(spec)
    waited = threading.Event()
    # The handle knows when the job is over (a remote run is mirrored into the folder until then).
    stream = open_stream(handle.job_id, handle.workdir, active=lambda: not waited.is_set())
    unsubscribe = stream.subscribe(
        lambda event: on_output(*event.payload) if event.kind == "output" and on_output is not None else None)
    try:
        if on_start is not None:
            on_start(handle.job_id)
        try:
            result = handle.wait(cancel=cancel)
        finally:
            waited.set()
            stream.wake()
        stream.wait_output(STREAM_END_WAIT_S)  # every output event delivered before the step is recorded
        # The metric child has the whole log a moment after the job (it has been reading along); a
        # run over before the child even started is recorded with a parse of its (short) log instead.
        stream.wait(METRICS_GRACE_S if stream.metrics_ready else 0)
    finally:
        unsubscribe()
    if db is not None:
        finalise_job(db, result, handle.status(), columns=stream.metric_columns())
    run_s = time.perf_counter() - t0
    stdout, stderr = _read(result.stdout_path), _read(result.stderr_path)
    error_type = classify_error(result.status, stderr, result.score)
    return RunOutcome(
        status="succeeded" if result.score is not None else ("failed" if result.status == JobStatus.SUCCEEDED else result.status),
        score=result.score,
        stdout=stdout,
        # A run killed before printing anything still says why (e.g. "timed out after 3 s").
        stderr=stderr if stderr or result.score is not None or not result.reason else result.reason,
        error_type=error_type,
        job_id=result.job_id,
        workdir=result.workdir,
        timings={"run_s": run_s, "launch_s": _launch_s(result.workdir, called_at), "job_wall_s": result.wall_s,
                 "peak_rss_mb": result.peak_rss_mb},
    )


def validate(code: str, settings: SessionSettings, **kwargs) -> RunOutcome:
    """Run C on a small subset for one epoch; validated once metric.log holds a number."""
    return run_program(code, "validate", settings, **kwargs)


def full_run(code: str, settings: SessionSettings, **kwargs) -> RunOutcome:
    """Run C_O on the full data under the execution and training time limits -> S."""
    return run_program(code, "final", settings, **kwargs)
