"""Standby Ray jobs, kept started ahead so a run does not wait seconds for Ray to start its job.

Ray starts every job with a new worker process for its job supervisor: 2-3 s on a small machine,
for any program. A standby job (:mod:`backend.bench.ray_standby`) pays that while nothing waits
for it. When a run is submitted, :func:`take` hands over a standby of the same shape (resources,
interpreter, pip/conda environment) and the run's package is uploaded to the key the standby
watches; the run is then that Ray job, so its logs, ``stop_job`` and status work as for a job
submitted directly. As a run starts, :func:`replenish` starts a new standby for the next one, so
its start overlaps this run and the designer's turn after it.

Each standby holds its CPUs/GPUs while it waits (``RaySettings.standby`` turns them off). Nothing
lingers: :func:`stop_all` stops them (a sweep's end, the process's exit), and one left behind by a
killed app ends itself after ``standby_idle_s`` on the node.
"""

from __future__ import annotations

import atexit
import io
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.bench.ray_cluster import submit_job

HERE = Path(__file__).parent
EXPIRY_MARGIN_S = 60.0   # never hand over a standby this close to ending itself on the node


@dataclass(frozen=True)
class Shape:
    """What a standby must share with the run it carries: where, how big, which interpreter."""

    address: str
    python: str
    num_cpus: float
    num_gpus: float
    pip: tuple[str, ...] = ()
    conda: str | None = None


@dataclass
class Standby:
    submission_id: str
    key: str
    client: Any = None   # the JobSubmissionClient it was submitted with (to stop it)
    started: float = field(default_factory=time.monotonic)


_lock = threading.Condition()
_ready: dict[Shape, list[Standby]] = {}
_active: dict[Shape, int] = {}       # runs of each shape submitted and not yet finished
_disabled: set[Shape] = set()        # their standby failed (no Ray for that interpreter): submit directly
_starting: dict[Shape, int] = {}     # standbys being submitted now
_threads: list[threading.Thread] = []
_package_dirs: dict[str, Path] = {}


def _standby_package() -> str:
    """A folder with the standby's files (the same bytes every time, so Ray uploads them once)."""
    with _lock:
        if "dir" in _package_dirs and _package_dirs["dir"].exists():
            return str(_package_dirs["dir"])
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="deepones-ray-standby-"))
        (folder / "_deepones_ray_standby.py").write_bytes((HERE / "ray_standby.py").read_bytes())
        (folder / "_deepones_ray_boot.py").write_bytes((HERE / "ray_boot.py").read_bytes())
        _package_dirs["dir"] = folder
        return str(folder)


def runtime_env(shape: Shape, working_dir: str) -> dict:
    env: dict[str, Any] = {"working_dir": working_dir, "env_vars": {"PYTHONUNBUFFERED": "1"}}
    if shape.pip:
        env["pip"] = list(shape.pip)
    if shape.conda:
        env["conda"] = shape.conda
    return env


def _status(client, submission_id: str) -> str | None:
    try:
        return str(client.get_job_status(submission_id).value)
    except Exception:  # noqa: BLE001 - unreachable or unknown: not usable
        return None


def take(client, shape: Shape, idle_s: float) -> Standby | None:
    """A live standby of ``shape`` to carry the next run, or None: submit directly. Counts the run as active."""
    with _lock:
        _active[shape] = _active.get(shape, 0) + 1
        queue = _ready.setdefault(shape, [])
    while True:
        with _lock:
            # One being submitted now (a 50 ms HTTP call) is worth waiting for: a run submitted
            # directly beside it could wait on the resources that idle standby then holds.
            _lock.wait_for(lambda: queue or not _starting.get(shape), timeout=10)
            if not queue:
                return None
            standby = queue.pop(0)
        if time.monotonic() - standby.started < idle_s - EXPIRY_MARGIN_S:
            state = _status(client, standby.submission_id)
            if state in ("PENDING", "RUNNING"):
                return standby
            if state == "FAILED":   # e.g. no Ray for that interpreter: this shape goes direct from now on
                with _lock:
                    _disabled.add(shape)
        stop(client, standby)


def hand_over(client, standby: Standby, workdir: Path) -> None:
    """Upload the run's job folder to the key the standby watches; it starts the run at once."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as pkg:
        for path in sorted(workdir.rglob("*")):
            if path.is_file():
                pkg.write(path, path.relative_to(workdir).as_posix())
    resp = client._do_request("PUT", f"/api/packages/gcs/{standby.key}", data=buf.getvalue())
    if resp.status_code != 200:
        raise RuntimeError(f"the cluster did not take the run's package: HTTP {resp.status_code} {resp.text[:200]}")


def finished(shape: Shape) -> None:
    with _lock:
        _active[shape] = max(0, _active.get(shape, 0) - 1)


def replenish(client, shape: Shape, idle_s: float, *, limit: int = 8) -> None:
    """Start standbys of ``shape`` in the background until one waits per active run (at most ``limit``).

    Called as a run starts: the standby's own start (Ray's seconds) overlaps that run and the
    designer's turn after it, and is ready when the next run of this shape comes.
    """
    with _lock:
        missing = min(limit, _active.get(shape, 0)) - len(_ready.get(shape, [])) - _starting.get(shape, 0)
        if shape in _disabled or missing <= 0:
            return
        _starting[shape] = _starting.get(shape, 0) + missing
    for _ in range(missing):
        thread = threading.Thread(target=_start_one, args=(client, shape, idle_s), name="ray-standby", daemon=True)
        with _lock:
            _threads.append(thread)
        thread.start()


def _start_one(client, shape: Shape, idle_s: float) -> None:
    token = uuid.uuid4().hex[:16]
    key = f"deepones_run_{token}.zip"
    try:
        submission_id = submit_job(
            client,
            entrypoint=f"{shape.python} -I _deepones_ray_standby.py gcs://{key} {idle_s:.0f}",
            submission_id=f"deepones-standby-{token}",
            runtime_env=runtime_env(shape, _standby_package()),
            entrypoint_num_cpus=shape.num_cpus,
            entrypoint_num_gpus=shape.num_gpus or None,
            metadata={"deepones_standby": "1"},
        )
    except Exception:  # noqa: BLE001 - no standby this time: the next run is submitted directly
        submission_id = None
    with _lock:
        _starting[shape] -= 1
        if submission_id is not None:
            _ready.setdefault(shape, []).append(Standby(submission_id, key, client))
        _lock.notify_all()


def wait_ready(client, timeout: float) -> bool:
    """Whether every standby is running and watching its key within ``timeout`` s (benchmarks, tests)."""
    deadline = time.monotonic() + timeout
    with _lock:   # those still being submitted first
        _lock.wait_for(lambda: not any(_starting.values()), timeout=timeout)
        waiting = [s for queue in _ready.values() for s in queue]
    for standby in waiting:
        while True:
            try:
                if "@@deepones-standby ready" in client.get_job_logs(standby.submission_id):
                    break
            except Exception:  # noqa: BLE001 - not started yet
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    return True


def stop(client, standby: Standby) -> None:
    try:
        client.stop_job(standby.submission_id)
    except Exception:  # noqa: BLE001 - already gone
        pass


def stop_all(address: str | None = None) -> int:
    """Stop every waiting standby (of ``address``, or all); returns how many were stopped."""
    with _lock:
        pending, _threads[:] = list(_threads), []
    for thread in pending:   # a standby still being submitted is stopped too, not left behind
        thread.join(30)
    with _lock:
        shapes = [s for s in _ready if address is None or s.address == address]
        doomed = [(s, standby) for s in shapes for standby in _ready.pop(s)]
        for s in shapes:
            _active.pop(s, None)
    for _shape, standby in doomed:
        stop(standby.client, standby)
    return len(doomed)


def yield_idle(client, address: str, keep: str | None = None) -> int:
    """Stop the idle standbys at ``address`` (but ``keep``): a run has waited long for resources they hold."""
    with _lock:
        doomed = []
        for shape, queue in _ready.items():
            if shape.address == address:
                doomed += [s for s in queue if s.submission_id != keep]
                queue[:] = [s for s in queue if s.submission_id == keep]
    for standby in doomed:
        stop(client, standby)
    return len(doomed)


def waiting(address: str | None = None) -> list[str]:
    """Submission ids of the standbys waiting now."""
    with _lock:
        return [s.submission_id for shape, queue in _ready.items() for s in queue
                if address is None or shape.address == address]


def _stop_at_exit() -> None:
    """Stop the standbys as the process ends, but never hold the exit up for long (an unreachable
    cluster): those not stopped end themselves on the node after ``standby_idle_s``."""
    thread = threading.Thread(target=stop_all, name="ray-standby-exit", daemon=True)
    thread.start()
    thread.join(10)
    folder = _package_dirs.pop("dir", None)
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_stop_at_exit)
