"""Starting, watching and cancelling jobs; the blocking ``run_job`` every caller can use.

A job is a detached supervisor process (:mod:`backend.jobs.supervisor`) plus files in its job dir,
so it survives the process that started it. This module prepares the dir, launches the supervisor
and reads its ``status.json``; :mod:`backend.jobs.records` mirrors jobs into the store.
"""

from __future__ import annotations

import json
import logging
import marshal
import os
import secrets
import select
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from backend import paths
from backend.children import python_argv
from backend.errors import UserError
from backend.jobs import environment, supervisor_launcher
from backend.jobs.spec import FINAL_STATUSES, JobResult, JobSpec
from backend.jobs.status import (
    cancel_workdir,
    job_active,
    mark_lost,
    read_status,
    result_from_status,
    supervisor_alive,
    write_status,
)
from backend.jobs.tail import LogTailer
from backend.settings import load_settings

SUPERVISOR = Path(__file__).with_name("supervisor.py")
# Import the supervisor as a top-level module (cached bytecode, no package __init__), not as a script.
_BOOT = f"import sys; sys.path.insert(0, {str(SUPERVISOR.parent)!r}); import supervisor; sys.exit(supervisor.main(sys.argv))"
OutputCallback = Callable[[str, str], None]


class JobError(UserError, RuntimeError):
    """A job could not be started; ``str(exc)`` is a message fit for the user."""


def new_job_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def resolve_argv(spec: JobSpec, workdir: Path, interpreter: str) -> list[str]:
    """A program file (``*.py`` or an existing file in the job dir) or a ``-c``/``-m`` call runs with the interpreter."""
    if not spec.argv:
        raise JobError("The job has no program to run.")
    first = spec.argv[0]
    if first.endswith(".py") or first.startswith("-") or (workdir / first).is_file() and not os.access(workdir / first, os.X_OK):
        return [interpreter, *spec.argv]
    return list(spec.argv)


def build_environment(spec: JobSpec, job_id: str, workdir: Path) -> tuple[dict[str, str], list[str]]:
    """The job's environment: an allow-list (see :mod:`backend.jobs.environment`), its own temp dir."""
    allow = [*spec.allow_env, *environment.user_allowed_names()]
    env, removed = environment.job_environment(environment.cleaned_base_environment(), spec.env, allow)
    env["DEEPONES_JOB_ID"] = job_id      # also how leftovers of a lost job are found (backend.jobs.leftovers)
    env["DEEPONES_JOB_DIR"] = str(workdir)
    # A private temp dir inside the job folder: /tmp is shared and may hold the data dir or a home.
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    for name in ("TMPDIR", "TMP", "TEMP"):
        env[name] = str(tmp)
    env["DEEPONES_TRAIN_TIME_LIMIT"] = f"{spec.limits.train_time_limit_s:g}"
    env.setdefault("PYTHONUNBUFFERED", "1")  # live output: programs flush line by line
    if spec.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(spec.gpu)
    return env, removed


class JobHandle:
    """A started job: wait for it, stream its output, cancel it. Also works for re-attached jobs."""

    def __init__(self, job_id: str, workdir: Path, proc: subprocess.Popen | None = None,
                 pid: int | None = None, pidfd: int | None = None) -> None:
        self.job_id = job_id
        self.workdir = Path(workdir)
        self.proc = proc
        self.tailer = LogTailer(self.workdir)
        # A pidfd tells when the (detached) supervisor exits, without polling and without being its parent
        # (the launcher hands one over with the pid it forked: no pid-reuse race).
        self._pidfd: int | None = pidfd
        target = proc.pid if proc is not None else pid
        if pidfd is None and target and hasattr(os, "pidfd_open"):
            try:
                self._pidfd = os.pidfd_open(target)
            except OSError:  # already gone (or no pidfd support): fall back to the lock file
                self._pidfd = None

    def __del__(self) -> None:
        if self._pidfd is not None:
            try:
                os.close(self._pidfd)
            except OSError:
                pass
            self._pidfd = None

    def _supervisor_exited(self, timeout: float) -> bool:
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], timeout)[0])
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        if timeout:
            time.sleep(timeout)
        return not job_active(self.workdir)

    def status(self) -> dict:
        return read_status(self.workdir)

    def is_running(self) -> bool:
        exited = self._supervisor_exited(0)
        if self.proc is not None:
            self.proc.poll()  # reap
        return not exited

    def cancel(self) -> bool:
        """Ask the supervisor to stop the job (SIGTERM to the job, SIGKILL after the grace)."""
        return cancel_workdir(self.workdir)

    def read_new_output(self, on_output: OutputCallback) -> None:
        for stream, text in self.tailer.read_all():
            on_output(stream, text)

    def wait(self, *, on_output: OutputCallback | None = None, cancel: threading.Event | None = None,
             poll_s: float = 0.1) -> JobResult:
        """Block until the job ends; stream output; honour ``cancel``."""
        cancelled = False
        while True:
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                self.cancel()
            done = self._supervisor_exited(poll_s)
            if on_output is not None:
                self.read_new_output(on_output)
            if done:
                break
        if self.proc is not None:
            self.proc.wait()
        return self.result()

    def result(self) -> JobResult:
        running = self.is_running()
        st = self.status()
        if not running and st.get("status") not in FINAL_STATUSES and not job_active(self.workdir):
            st = mark_lost(self.workdir, st)   # the supervisor is gone: end what is left, then say "lost"
        return result_from_status(self.job_id, self.workdir, st, running=running)


def prepare_job(spec: JobSpec, root: Path | None = None, *, job_id: str | None = None) -> tuple[str, Path, dict, dict]:
    """Create the job dir, its files and ``launch.json``; returns (job id, dir, env, launch config)."""
    from backend.jobs.spec import limits_problem

    problem = limits_problem(spec.limits)
    if problem:
        raise JobError(problem[0].upper() + problem[1:] + ".")
    root = Path(root) if root is not None else paths.data_dir()
    if not paths.jobs_dir(root).is_dir():
        paths.ensure_data_dir(root)  # clear message when the data dir is not writable
    settings = load_settings(root)
    job_id = job_id or new_job_id()
    workdir = paths.jobs_dir(root) / job_id
    workdir.mkdir(parents=True, exist_ok=False)
    for rel, text in spec.files.items():
        target = (workdir / rel).resolve()
        if workdir.resolve() not in target.parents:
            raise JobError(f"The job file {rel!r} would be written outside the job dir.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    interpreter = spec.interpreter or settings.interpreter
    argv = resolve_argv(spec, workdir, interpreter)
    if spec.no_network:
        try:
            argv = environment.network_isolation_prefix() + argv
        except environment.IsolationUnavailable as exc:
            raise JobError(f"--no-network was asked for, but {exc}.") from exc
    env, removed = build_environment(spec, job_id, workdir)
    lim = spec.limits
    cfg = {
        "job_id": job_id, "argv": argv, "cwd": str(workdir),
        "time_limit_s": lim.time_limit_s, "memory_limit_mb": lim.memory_limit_mb,
        "max_processes": lim.max_processes,
        "max_file_size_bytes": int(lim.max_file_size_mb * 2**20) if lim.max_file_size_mb else None,
        "max_log_bytes": int(lim.max_log_mb * 2**20), "kill_grace_s": lim.kill_grace_s,
        "gpu": spec.gpu, "jobs_per_gpu": settings.jobs_per_gpu, "slot_dir": str(paths.jobs_dir(root) / ".gpu-slots"),
        "no_network": spec.no_network, "sys_path": supervisor_launcher.site_dirs(), "gpu_sample_s": 2.0,
        "max_job_dir_bytes": int(lim.max_job_dir_mb * 2**20) if lim.max_job_dir_mb else None,
        "confinement": _confinement_plan(spec, workdir, root, env),
    }
    initial = {"job_id": job_id, "status": "queued", "name": spec.name, "origin": spec.origin,
               "argv": argv, "scrubbed_env": removed, "created_at": time.time()}
    cfg["initial_status"] = initial
    (workdir / "launch.json").write_text(json.dumps(cfg, indent=1), "utf-8")
    (workdir / "launch.bin").write_bytes(marshal.dumps(cfg))  # what the supervisor reads (no json import)
    (workdir / "spec.json").write_text(json.dumps(spec.to_dict(), indent=1), "utf-8")
    write_status(workdir, initial)
    return job_id, workdir, env, cfg


def _confinement_plan(spec: JobSpec, workdir: Path, root: Path, env: dict) -> dict:
    if not spec.confine:
        return {"enabled": False}
    plan = environment.filesystem_plan(str(workdir), str(root), env["TMPDIR"], list(spec.extra_write))
    return {"enabled": True, **plan}


def launch_supervisor(workdir: Path, env: dict) -> subprocess.Popen:
    log = open(workdir / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            python_argv("-I", "-S", "-c", _BOOT, str(workdir)),
            env=env, cwd=str(workdir), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True,
        )
    finally:
        log.close()


def start_job(spec: JobSpec, *, root: Path | None = None, db=None) -> JobHandle:
    """Start ``spec`` without waiting; the job keeps running if the caller exits."""
    from backend.jobs import records

    job_id, workdir, env, cfg = prepare_job(spec, root)
    if db is not None:
        records.record_created(db, job_id, spec, workdir)
    # The single-threaded launcher process forks the supervisor (no fork of this possibly threaded
    # process, no copy of its memory, keys included, next to the program, and no Python start-up per
    # job); without a launcher, the supervisor is a fresh process of its own.
    try:
        pid, pidfd = supervisor_launcher.launcher().launch(workdir, env)
    except supervisor_launcher.LauncherGone as exc:
        raise JobError(f"The job could not be started: {exc}.") from exc
    except supervisor_launcher.LauncherUnavailable as exc:
        logging.getLogger(__name__).warning("%s; starting the supervisor as its own process", exc)
        return JobHandle(job_id, workdir, launch_supervisor(workdir, env))
    return JobHandle(job_id, workdir, pid=pid, pidfd=pidfd)


def run_job(spec: JobSpec, *, root: Path | None = None, db=None, on_output: OutputCallback | None = None,
            cancel: threading.Event | None = None) -> JobResult:
    """Run ``spec`` to the end and return its result (blocking; call it off the GUI thread).

    ``on_output(stream, text)`` receives output as it arrives ("stdout" / "stderr"). Setting
    ``cancel`` stops the job (SIGTERM, then SIGKILL after the grace). The job is recorded in ``db``
    when given (else in the store of ``root``), metrics included.
    """

    own_db = None
    if db is None:
        try:
            from backend.store import open_store

            db = own_db = open_store(root)
        except Exception:  # noqa: BLE001 - a broken store must not stop a job; files still record it
            db = None
    try:
        handle = start_job(spec, root=root, db=db)
        result = handle.wait(on_output=on_output, cancel=cancel)
        if db is not None:
            from backend.jobs.finalise import finalise_job

            finalise_job(db, result, read_status(handle.workdir))
        return result
    finally:
        if own_db is not None:
            own_db.conn.close()


def spec_from_dir(workdir: Path) -> JobSpec:
    """The spec a job was started with (for Re-run)."""
    from backend.jobs.spec import JobLimits

    raw = json.loads((Path(workdir) / "spec.json").read_text("utf-8"))
    limits = JobLimits(**{k: v for k, v in raw.pop("limits", {}).items() if k in JobLimits.__dataclass_fields__})
    known = set(JobSpec.__dataclass_fields__)
    return JobSpec(**{k: v for k, v in raw.items() if k in known}, limits=limits)


# The status helpers are re-exported: callers written against the runner keep working.
__all__ = ["FINAL_STATUSES", "JobError", "JobHandle", "asdict", "cancel_workdir", "job_active", "prepare_job",
           "read_status", "result_from_status", "run_job", "spec_from_dir", "start_job", "supervisor_alive",
           "write_status"]
