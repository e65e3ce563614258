"""What is left of a job whose supervisor is gone, found and ended by the app.

A confined job runs in its own PID namespace whose init dies with the supervisor, so the kernel has
already ended it. Without the namespace (old kernels, confinement turned off) the program gets
``PR_SET_PDEATHSIG`` but its children do not; they are found here by what every process of a job
carries: the ``DEEPONES_JOB_ID`` variable in its initial environment (``/proc/PID/environ``, readable
for the app's own user; a child that rewrites its environment with ``execve`` could hide) and, when the
app runs as root, membership of the job's pids cgroup. A recycled pid cannot be mistaken for a job
process: both marks belong to the job.
"""

from __future__ import annotations

import os
import signal
import time


def job_processes(job_id: str, cgroup: str | None = None) -> list[int]:
    """Pids of live (not zombie) processes belonging to ``job_id``, this process excluded."""
    mark = f"DEEPONES_JOB_ID={job_id}\0".encode()
    found: set[int] = set()
    if cgroup:
        try:
            with open(os.path.join(cgroup, "cgroup.procs")) as fh:
                found.update(int(x) for x in fh.read().split())
        except OSError:
            pass
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if mark in fh.read():
                    found.add(int(name))
        except OSError:
            continue
    found.discard(os.getpid())
    return sorted(p for p in found if _running(p))


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] not in (b"Z", b"X")


def end_job_processes(job_id: str, cgroup: str | None = None, timeout: float = 2.0) -> tuple[int, list[int]]:
    """SIGKILL every process of the job until none is left or ``timeout`` passes.

    Returns (how many were killed, pids still running). No grace: the supervisor that would have
    given one is gone, and a lost job's program has no one to report to.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        pids = job_processes(job_id, cgroup)
        if not pids or time.monotonic() > deadline:
            return len(killed), pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
