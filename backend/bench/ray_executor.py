"""The Ray executor: program runs as Ray jobs, through the Jobs API only (never ``ray.init`` here).

Contract: :mod:`backend.jobs.executors`. ``submit`` prepares the local job folder exactly as the
local executor does (:func:`backend.jobs.runner.prepare_job`), adds the stdlib-only supervisor and
:mod:`backend.bench.ray_boot`, and submits the folder as the job's ``working_dir``. On the node the
supervisor enforces the same limits; its output comes back as ``@@deepones`` records in the job's
log (``tail_job_logs`` while it runs, ``get_job_logs`` once more at the end so nothing is missed) and
is written into the local ``stdout.log`` / ``stderr.log``, then ``status.json`` and ``metric.log``.
Cancel is ``stop_job``; when the cluster cannot be reached for ``lost_after_s`` the run is ``lost``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from backend.bench.ray_cluster import RayError, RaySettings, _client, submit_job
from backend.jobs.runner import JobHandle, prepare_job, read_status, result_from_status, write_status
from backend.jobs.spec import JobResult, JobSpec, JobStatus

BOOT = Path(__file__).with_name("ray_boot.py")
SUPERVISOR = Path(__file__).parents[1] / "jobs" / "supervisor.py"
MARK = "@@deepones "
STANDBY_MARK = "@@deepones-standby"
RAY_FINAL = ("SUCCEEDED", "FAILED", "STOPPED")
YIELD_AFTER_S = 5.0   # a run PENDING this long stops idle standby jobs that may hold its resources


class RayJobHandle:
    """A submitted Ray job mirrored into its local job folder (same methods as a local JobHandle)."""

    def __init__(self, job_id: str, workdir: Path, submission_id: str, settings: RaySettings, db: Any = None,
                 shape: Any = None) -> None:
        self.job_id, self.workdir, self.submission_id = job_id, Path(workdir), submission_id
        self.settings = settings
        self.shape = shape   # a ray_standby_pool.Shape: the pool counts this run until it ends
        self.db = db
        self._client = _client(settings.address)
        self._reader = JobHandle(job_id, workdir)   # streams the mirrored logs to on_output
        self._lock = threading.Lock()
        self._buffer = ""
        self._final: dict | None = None
        self._final_seen = threading.Event()
        self._finished = False
        self._tail_thread: threading.Thread | None = None
        self._tail_loop: asyncio.AbstractEventLoop | None = None
        self._tail_task: asyncio.Task | None = None

    # -- mirroring the job's log records ------------------------------------------------------
    def _apply_records(self, text: str, *, replay: bool = False) -> None:
        """Append the stdout/stderr records in ``text`` to the local logs (``replay``: rewrite them)."""
        out: dict[str, list[str]] = {"stdout": [], "stderr": []}
        other: list[str] = []
        for line in text.splitlines():
            if not line.startswith(MARK):
                if line.strip() and not line.startswith(STANDBY_MARK):
                    other.append(line)
                continue
            try:
                rec = json.loads(line[len(MARK):])
            except ValueError:
                continue
            if "s" in rec and rec["s"] in out:
                out[rec["s"]].append(rec.get("t", ""))
            elif "start" in rec:
                st = read_status(self.workdir)
                st.update(status="running", host=rec["start"].get("host"), node_ip=rec["start"].get("ip"),
                          started_at=rec["start"].get("t"))
                write_status(self.workdir, st)
            elif "final" in rec:
                self._final = rec
        mode = "w" if replay else "a"
        for stream, parts in out.items():
            if parts or replay:
                with open(self.workdir / f"{stream}.log", mode, encoding="utf-8") as fh:
                    fh.write("".join(parts))
        if other:
            with open(self.workdir / "ray.log", mode, encoding="utf-8") as fh:
                fh.write("\n".join(other) + "\n")

    def _feed(self, chunk: str) -> None:
        with self._lock:
            if self._finished:
                return
            self._buffer += chunk
            complete, _, self._buffer = self._buffer.rpartition("\n")
            if complete:
                self._apply_records(complete + "\n")
            if self._final is not None:
                self._final_seen.set()   # the tail brought the whole run: wait() need not poll on

    def _tail(self) -> None:
        async def follow() -> None:
            async for chunk in self._client.tail_job_logs(self.submission_id):
                self._feed(chunk)

        loop = asyncio.new_event_loop()
        try:
            self._tail_task = loop.create_task(follow())
            self._tail_loop = loop
            loop.run_until_complete(self._tail_task)
        except BaseException:  # noqa: BLE001 - cancelled or cut off: get_job_logs fills in what the tail missed
            pass
        finally:
            self._tail_loop = None
            loop.close()

    def _start_tail(self) -> None:
        if self._tail_thread is None:   # once per handle: a second wait() must not mirror the logs twice
            self._tail_thread = threading.Thread(target=self._tail, name=f"ray-tail-{self.job_id}", daemon=True)
            self._tail_thread.start()

    def _stop_tail(self) -> None:
        """Close the log stream now: Ray's own tail keeps it open for seconds after the job ends."""
        loop, task = self._tail_loop, self._tail_task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:   # the loop closed meanwhile
                pass

    # -- the handle API ----------------------------------------------------------------------
    def status(self) -> dict:
        return read_status(self.workdir)

    def ray_status(self) -> str | None:
        try:
            return str(self._client.get_job_status(self.submission_id).value)
        except Exception:  # noqa: BLE001 - connection trouble: the caller decides when it is lost
            return None

    def is_running(self) -> bool:
        if self._finished:
            return False
        state = self.ray_status()
        return state is None or state not in RAY_FINAL

    def cancel(self) -> bool:
        try:
            return bool(self._client.stop_job(self.submission_id))
        except Exception:  # noqa: BLE001
            return False

    def wait(self, *, on_output=None, cancel: threading.Event | None = None, timeout: float | None = None,
             poll_s: float = 0.05, max_poll_s: float = 0.5, settle_s: float = 2.0) -> JobResult:
        """Mirror the run until Ray reports it ended, then bring back whatever the tail did not.

        The boot script's last record carries ``status.json`` and ``metric.log``: once the tail has
        delivered it, nothing needs fetching again, and Ray's terminal status (its supervisor polls
        the entrypoint every 0.1 s) is awaited at most ``settle_s`` more. The tail itself is closed,
        not joined: Ray's log follower sleeps 1 s at a time and would hold the run back.
        Status polls are spaced out (each costs the dashboard CPU that the node needs to start the
        job's worker): ``max_poll_s`` while PENDING, from ``poll_s`` up to it while RUNNING.
        """
        self._start_tail()
        deadline = time.monotonic() + timeout if timeout else None
        unreachable_since: float | None = None
        settle_until: float | None = None
        cancelled = yielded = False
        t_start = time.monotonic()
        state: str | None = None
        interval = poll_s
        while True:
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = self.cancel() or True
            state = self.ray_status()
            if on_output is not None:
                self._reader.read_new_output(on_output)
            if state in RAY_FINAL:
                break
            now = time.monotonic()
            if state is None:
                unreachable_since = unreachable_since or now
                if now - unreachable_since > self.settings.lost_after_s:
                    self._stop_tail()
                    return self._finish_lost()
            else:
                unreachable_since = None
            if deadline is not None and now > deadline:
                return self.result()
            if self._final_seen.is_set():
                settle_until = settle_until or now + settle_s
                if now > settle_until:
                    break
                time.sleep(poll_s)
            elif state == "RUNNING":
                self._final_seen.wait(interval)
                interval = min(max_poll_s, interval * 1.5)
            else:
                if state == "PENDING" and not yielded and now - t_start > YIELD_AFTER_S:
                    # Waiting for CPUs/GPUs that idle standby jobs may hold: let them go.
                    from backend.bench.ray_standby_pool import yield_idle

                    yield_idle(self._client, self.settings.address, keep=self.submission_id)
                    yielded = True
                self._final_seen.wait(max_poll_s if state == "PENDING" else poll_s)
        self._finish(state, cancelled, complete=self._final_seen.is_set())
        self._stop_tail()
        if on_output is not None:
            self._reader.read_new_output(on_output)
        result = self.result()
        self._release()
        return result

    def _release(self) -> None:
        """Tell the standby pool this run ended (it keeps one standby per active run)."""
        shape, self.shape = self.shape, None
        if shape is not None:
            from backend.bench import ray_standby_pool

            ray_standby_pool.finished(shape)

    def _finish(self, state: str | None, cancelled: bool, *, complete: bool = False) -> None:
        """Write the run's final status; ``complete``: the tail already brought every record."""
        full = None
        if not complete:
            try:
                full = self._client.get_job_logs(self.submission_id)
            except Exception:  # noqa: BLE001 - keep what the tail brought
                full = None
        with self._lock:
            self._finished = True
            if full is not None:
                self._final = None
                self._apply_records(full, replay=True)
            st = read_status(self.workdir)
            final = self._final
            if final is not None:
                remote = dict(final.get("final") or {})
                for key in ("status", "reason", "detail", "exit_code", "signal", "wall_s", "peak_rss_mb", "score",
                            "started_at", "ended_at"):
                    if key in remote:
                        st[key] = remote[key]
                if final.get("metric") is not None:
                    (self.workdir / "metric.log").write_text(final["metric"], "utf-8")
            elif state == "STOPPED" or cancelled:
                st.update(status="cancelled", reason="cancelled", detail="cancelled by the user", ended_at=time.time())
            else:
                msg = ""
                try:
                    msg = self._client.get_job_info(self.submission_id).message or ""
                except Exception:  # noqa: BLE001
                    pass
                st.update(status="failed", reason="failed", detail=f"the Ray job ended {state}: {msg}".strip(),
                          ended_at=time.time())
            if cancelled and st.get("status") != JobStatus.SUCCEEDED:
                st["status"] = "cancelled"
            if state in RAY_FINAL:
                st["ray_status"] = state
            write_status(self.workdir, st)

    def _finish_lost(self) -> JobResult:
        with self._lock:
            self._finished = True
            st = read_status(self.workdir)
            st.update(status="lost", reason="lost", ended_at=time.time(),
                      detail=f"lost the connection to the Ray cluster at {self.settings.address}")
            write_status(self.workdir, st)
        self._release()
        return self.result()

    def result(self) -> JobResult:
        running = not self._finished and self.is_running()
        return result_from_status(self.job_id, self.workdir, self.status(), running=running)


class RayExecutor:
    """Runs JobSpecs as Ray jobs on the cluster named in :class:`RaySettings` (or ``address``)."""

    name = "ray"

    def __init__(self, root: Path | None = None, db: Any = None, *, address: str | None = None,
                 settings: RaySettings | None = None) -> None:
        self.root, self.db = root, db
        self.settings = settings or RaySettings.load(root)
        if address:
            self.settings.address = address

    def _shape(self, num_gpus: float):
        from backend.bench.ray_standby_pool import Shape

        st = self.settings
        return Shape(st.address, st.python, float(st.num_cpus), float(num_gpus or 0), tuple(st.pip or ()), st.conda)

    def submit(self, spec: JobSpec) -> RayJobHandle:
        from backend.bench import ray_standby_pool as pool
        from backend.jobs import records

        client = _client(self.settings.address)
        job_id, workdir, env, cfg = prepare_job(spec, self.root)
        # The node runs the program with its own interpreter; the job's own variables travel along
        # (already scrubbed of secrets by prepare_job), the rest of the environment is the node's.
        interpreter = cfg["argv"][0]
        remote = dict(cfg)
        remote["argv"] = [self.settings.python if i == 0 and a == interpreter else a for i, a in enumerate(cfg["argv"])]
        # Not CUDA_VISIBLE_DEVICES: a GPU index here means nothing on the node, where Ray assigns them.
        keep = set(spec.env) | {"PYTHONUNBUFFERED"}
        remote["job_env"] = {k: v for k, v in env.items() if (k in keep or k.startswith("DEEPONES_"))
                             and k not in ("DEEPONES_JOB_DIR", "CUDA_VISIBLE_DEVICES")}
        remote["initial_status"] = {**cfg["initial_status"], "executor": "ray"}
        # The Landlock grants name this machine's paths; on a node they would lock the program out of
        # its own folder. Said in the job's record rather than silently skipped.
        remote["confinement"] = {"enabled": False, "reason": "runs on a Ray node, whose own isolation applies"}
        (workdir / "ray_launch.json").write_text(json.dumps(remote, indent=1), "utf-8")
        from backend.jobs.supervisor import SUPERVISOR_FILES

        for name in SUPERVISOR_FILES:  # the supervisor imports its stdlib-only siblings
            shutil.copyfile(SUPERVISOR.parent / name, workdir / name)
        shutil.copyfile(BOOT, workdir / "_deepones_ray_boot.py")
        shape = self._shape(self.settings.num_gpus if (spec.gpu is not None or self.settings.num_gpus) else 0)
        submission_id = self._hand_to_standby(client, shape, workdir) if self.settings.standby else None
        standby = submission_id is not None
        if not standby:
            submission_id = f"deepones-{job_id}"
            try:
                submit_job(
                    client,
                    entrypoint=f"{self.settings.python} -I -S _deepones_ray_boot.py",
                    submission_id=submission_id,
                    runtime_env=pool.runtime_env(shape, str(workdir)),
                    entrypoint_num_cpus=shape.num_cpus,
                    entrypoint_num_gpus=shape.num_gpus or None,
                    metadata={"deepones_job_id": job_id, "name": spec.name[:200]},
                )
            except Exception as exc:
                if self.settings.standby:
                    pool.finished(shape)
                st = read_status(workdir)
                st.update(status="failed", reason="failed", detail=f"Ray refused the job: {exc}", ended_at=time.time(),
                          executor="ray")
                write_status(workdir, st)
                raise RayError(f"the Ray cluster at {self.settings.address} refused the job: {exc}") from exc
        st = read_status(workdir)
        st.update(executor="ray", ray_address=self.settings.address, ray_submission_id=submission_id,
                  ray_standby=standby)
        write_status(workdir, st)
        if self.db is not None:
            records.record_created(self.db, job_id, spec, workdir)
        if self.settings.standby:
            pool.replenish(client, shape, self.settings.standby_idle_s)
        return RayJobHandle(job_id, workdir, submission_id, self.settings, self.db,
                            shape=shape if self.settings.standby else None)

    def _hand_to_standby(self, client, shape, workdir: Path) -> str | None:
        """The submission id of a standby job now carrying this run, or None (none ready, or it failed)."""
        from backend.bench import ray_standby_pool as pool

        standby = pool.take(client, shape, self.settings.standby_idle_s)
        if standby is None:
            return None
        try:
            pool.hand_over(client, standby, workdir)
        except Exception:  # noqa: BLE001 - the package did not get there: stop it, submit directly
            pool.stop(client, standby)
            return None
        return standby.submission_id

    def run(self, spec: JobSpec, *, on_output=None, cancel: threading.Event | None = None) -> JobResult:
        from backend.jobs.finalise import finalise_job

        handle = self.submit(spec)
        result = handle.wait(on_output=on_output, cancel=cancel)
        if self.db is not None:
            finalise_job(self.db, result, read_status(handle.workdir))
        return result
