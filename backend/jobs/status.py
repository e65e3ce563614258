"""A job's state on disk: ``status.json`` (written by the supervisor), its lock, the cancel request.

The one place that reads and writes these files: the runner, the records (store mirror), the CLI
and the watchers all come here, so none of them needs another.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from backend.jobs.spec import FINAL_STATUSES, JobResult, JobStatus


def write_status(workdir: Path, data: dict) -> None:
    tmp = workdir / "status.json.tmp"
    try:
        tmp.write_text(json.dumps(data, indent=1), "utf-8")
    except OSError:
        tmp.unlink(missing_ok=True)   # never a half-written file left behind (a full disk)
        raise
    os.replace(tmp, workdir / "status.json")


def read_status(workdir: Path) -> dict:
    try:
        return json.loads((Path(workdir) / "status.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def confinement_summary(st: dict) -> str:
    """What protected the job, in a few words: "confined", "not confined (kernel has no Landlock)"..."""
    conf = st.get("confinement")
    if not conf:
        return "not recorded (the job has not started, or was started before confinement existed)"
    return conf.get("summary") or "unknown"


def job_confinement(workdir: Path | str) -> str:
    """The confinement line of a job's record, for views (one small file read)."""
    return confinement_summary(read_status(Path(workdir)))


def supervisor_alive(workdir: Path) -> bool:
    """True while the job's supervisor holds its lock (pid reuse cannot fool this)."""
    lock = Path(workdir) / "supervisor.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def job_active(workdir: Path) -> bool:
    """True while a job may still produce output: its supervisor runs, or is about to start."""
    if supervisor_alive(workdir):
        return True
    st = read_status(workdir)
    return (st.get("status") == JobStatus.QUEUED and "supervisor_pid" not in st
            and time.time() - float(st.get("created_at") or 0) < 30)


def vanished_detail(workdir: Path) -> str:
    """Why a job has no final status: a full disk (its output and status could not be written) is
    the usual cause worth naming; otherwise the supervisor was killed."""
    import shutil

    try:
        free = shutil.disk_usage(workdir).free
    except OSError:
        free = None
    if free is not None and free < 1_000_000:
        return (f"the disk holding {workdir.parent} is full ({free:,} bytes free): the job's output and status "
                "could not be written, so it was stopped. Free some space and run it again.")
    return ("the job's supervisor was killed (or crashed) before the job ended, so the job's processes were "
            "stopped with it")


def mark_lost(workdir: Path, st: dict | None = None) -> dict:
    """End whatever is left of a job whose supervisor is gone, then record it as ``lost`` and why.

    ``lost`` is only written once no process of the job runs any more; if some cannot be stopped
    (another user's, say) the status stays as it was and the detail names them, for the next look.
    """
    from backend.jobs import leftovers

    workdir = Path(workdir)
    st = dict(st if st is not None else read_status(workdir))
    job_id = st.get("job_id") or workdir.name
    killed, left = leftovers.end_job_processes(job_id, (st.get("isolation") or {}).get("pids_cgroup"))
    detail = vanished_detail(workdir)
    if killed:
        detail += f" ({killed} process{'es' if killed != 1 else ''} of the job still ran and {'were' if killed != 1 else 'was'} killed)"
    if left:
        st["detail"] = f"{detail}; still running, could not be stopped: {left}"
        return st
    st.update(status="lost", reason="lost", detail=detail, ended_at=st.get("ended_at") or time.time())
    if workdir.exists():
        try:
            write_status(workdir, st)
        except OSError as exc:   # a full disk (often why the supervisor stopped): the caller still gets it
            st["detail"] = f"{detail}; the status file could not be updated ({exc.strerror or exc})"
    return st


def result_from_status(job_id: str, workdir: Path, st: dict, *, running: bool = False) -> JobResult:
    status = st.get("status", "lost")
    detail = st.get("detail", "")
    if status not in FINAL_STATUSES and not running:
        status, detail = "lost", vanished_detail(Path(workdir))
    return JobResult(
        job_id=job_id, status=status, exit_code=st.get("exit_code"), signal=st.get("signal"),
        score=st.get("score"), wall_s=float(st.get("wall_s") or 0.0), peak_rss_mb=float(st.get("peak_rss_mb") or 0.0),
        workdir=Path(workdir), reason=detail,
    )


def end_lost_job(workdir: Path) -> int:
    """``jobs cancel`` of a lost job: kill whatever of it still runs; returns how many processes."""
    from backend.jobs import leftovers

    st = read_status(Path(workdir))
    killed, _ = leftovers.end_job_processes(st.get("job_id") or Path(workdir).name,
                                            (st.get("isolation") or {}).get("pids_cgroup"))
    return killed


def cancel_workdir(workdir: Path) -> bool:
    """Ask a job to stop. A request file covers the instant before the supervisor runs; SIGTERM makes it prompt."""
    workdir = Path(workdir)
    st = read_status(workdir)
    if st.get("status") in FINAL_STATUSES or not job_active(workdir):
        return False
    (workdir / "cancel.request").write_text(str(time.time()), "utf-8")
    pid = st.get("supervisor_pid")
    if pid:
        try:
            os.kill(int(pid), 15)
        except ProcessLookupError:
            pass
    return True
