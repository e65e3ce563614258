"""Running a sweep: tasks x designers x variants x runs, each an ordinary design session run headless.

Rows are planned when the sweep is created (:mod:`backend.bench.records`); :func:`run_sweep` runs
the rows not finished yet with up to ``parallel`` sessions at once, each on its own worker thread
with its own store connection, and records what the paper reports per run. Cancel stops every
session in flight (the model call or the job, through the runner's cancel) and leaves those rows
``cancelled``, so resuming the sweep runs them again.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backend import paths
from backend.bench import records
from backend.bench.names import find_name, technique_list
from backend.bench.records import SweepError, SweepSpec
from backend.cancel import CancelToken
from backend.jobs.spec import JobStatus

EventCallback = Callable[[str, dict], None]


def default_parallel() -> int:
    """One run per GPU (the jobs' GPU queue keeps them apart), one on a CPU-only machine."""
    try:
        from backend.gpu import sample_gpus

        return max(1, len(sample_gpus()))
    except Exception:  # noqa: BLE001 - no NVML: CPU only
        return 1


def task_wants_gpu(task) -> bool:
    return not task.requirements.gpu_memory.lower().startswith("no gpu")


def check_spec(spec: SweepSpec, root: Path | None = None) -> None:
    """Everything that can be checked before anything is written: tasks, models, the executor."""
    from backend.jobs.executors import executor_factories
    from backend.pipeline import TaskError, get_task

    spec.check()
    tasks = []
    for name in spec.tasks:
        try:
            tasks.append(get_task(name))
        except TaskError as exc:
            raise SweepError(str(exc)) from exc
    for model in [*spec.designers, spec.programmer]:
        check_model_spec(model)
    if spec.executor not in executor_factories():
        raise SweepError(f"unknown executor {spec.executor!r}; known: {', '.join(sorted(executor_factories()))}")
    if spec.executor == "ray":
        from backend.bench.ray_cluster import RayError, RaySettings, cluster_resources

        settings = RaySettings.load(root)
        if settings.problem():
            raise SweepError(f"Ray settings: {settings.problem()}")
        try:
            resources = cluster_resources(settings.address)
        except RayError as exc:
            raise SweepError(str(exc)) from exc
        gpu_tasks = [t.name for t in tasks if task_wants_gpu(t)]
        if gpu_tasks and settings.num_gpus and resources.get("GPU", 0) < settings.num_gpus:
            raise SweepError(f"the Ray cluster at {settings.address} has no GPU for {', '.join(gpu_tasks)} "
                             f"(set per-run GPUs to 0 to run it on CPUs)")


def check_model_spec(model: str) -> None:
    """A model spec that cannot work is refused before the sweep starts (files must exist)."""
    from backend.llm.base import BackendError

    if not model.strip():
        raise SweepError("a model spec is empty")
    from backend.llm.model_spec import ModelSpec

    spec = ModelSpec.parse(model)
    if spec.is_replay:
        if not spec.replay_file.is_file():
            raise SweepError(f"replay file {spec.rest} does not exist")
        return
    if not spec.is_local:
        return   # an endpoint (or a plugin's backend) answers or not at the first call; each run records it
    from backend.llm.catalog import resolve_model_path

    try:
        path = resolve_model_path(model)
    except BackendError as exc:
        raise SweepError(str(exc)) from exc
    if not path.is_file():
        raise SweepError(f"model file {path} does not exist")


def session_settings(spec: SweepSpec, variant: str):
    from backend.pipeline import SessionSettings

    cfg = SessionSettings(max_debug=spec.max_debug, interpreter=spec.interpreter, improve=variant == "plus",
                          time_limit_s=spec.time_limit_s, train_time_limit_s=spec.train_time_limit_s,
                          subset_size=spec.subset_size)
    if spec.max_tokens:
        cfg.designer_max_tokens = cfg.programmer_max_tokens = spec.max_tokens
    cfg.executor = spec.executor
    return cfg


def _job_status(root: Path, job_id: str | None) -> dict:
    if not job_id:
        return {}
    try:
        return json.loads((paths.jobs_dir(root) / job_id / "status.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def summarize_session(state, root: Path, variant: str, names_text: str) -> dict:
    """What a sweep records about one finished session (the fields of a bench_results row)."""
    from backend.pipeline.state import RUN_STAGES

    steps = state.steps
    runs = [s for s in steps if s.stage in RUN_STAGES or s.stage == "final"]
    final = state.final
    score = final.score if final is not None else None
    last_job = _job_status(root, runs[-1].job_id) if runs else {}
    propose = next((s for s in steps if s.stage == "propose"), None)
    improve = next((s for s in steps if s.stage == "improve"), None)
    backbone = find_name(propose.response if propose else "", "backbone", names_text)
    improvement = find_name(improve.response if improve else "", "improvement", names_text) \
        if variant == "plus" else None
    if score is not None:
        status = "succeeded"
    elif last_job.get("status") == JobStatus.LOST:
        status = "lost"          # the cluster went away: resuming runs it again
    else:
        status = "failed"
    return {
        "status": status,
        "score": score,
        "success": int(score is not None),
        "exec_s": (final.timings.get("job_wall_s") if final is not None and score is not None else None),
        # Figure 7 counts the errors met while debugging: the failed validation runs, in order.
        "error_types": [s.error_type for s in steps if s.error_type and s.stage in RUN_STAGES],
        "tokens": sum((s.prompt_tokens or 0) + (s.completion_tokens or 0) for s in steps),
        "backbone": backbone.name, "backbone_source": backbone.source,
        "improvement": improvement.name if improvement else None,
        "improvement_source": improvement.source if improvement else None,
        "host": last_job.get("host") or socket.gethostname(),
    }


class SweepRunner:
    """Runs one sweep's unfinished rows; ``cancel()`` is thread-safe."""

    def __init__(self, sweep_id: int, *, root: Path | None = None, on_event: EventCallback | None = None,
                 parallel: int | None = None) -> None:
        self.sweep_id = sweep_id
        self.root = Path(root) if root is not None else paths.data_dir()
        self.db_path = paths.db_path(self.root)
        self.on_event = on_event or (lambda kind, payload: None)
        self._parallel = parallel
        # One token for the whole sweep, handed to every design runner: a cancel reaches each run's
        # model call or job at once, even a run that is only about to start.
        self._cancel = CancelToken()

    def cancel(self) -> None:
        self._cancel.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> dict:
        """Run every unfinished row; returns the final progress. Blocking: call it off the GUI thread."""
        from backend.store import connection

        with connection(self.db_path) as db:
            records.claim_sweep(db, self.sweep_id)
            spec = records.sweep_spec(db, self.sweep_id)
            todo = records.runs_to_do(db, self.sweep_id)
        parallel = max(1, self._parallel or spec.parallel or default_parallel())
        names_text = technique_list(self.root)
        work: queue.Queue = queue.Queue()
        for row in todo:
            work.put(row)
        errors: list[BaseException] = []
        t0 = time.time()

        def worker() -> None:
            with connection(self.db_path) as db:
                while not self._cancel.is_set():
                    try:
                        row = work.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        self._run_one(db, spec, row, names_text)
                    except BaseException as exc:  # noqa: BLE001 - reported after the other workers finish
                        errors.append(exc)
                        self._cancel.set()
                        return
                    info = records.progress(db, self.sweep_id)
                    info["eta_s"] = records.eta_s(info, parallel)
                    info["elapsed_s"] = time.time() - t0
                    self.on_event("progress", info)

        threads = [threading.Thread(target=worker, name=f"sweep-{self.sweep_id}-{i}", daemon=True)
                   for i in range(min(parallel, max(1, len(todo))))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        with connection(self.db_path) as db:
            info = records.progress(db, self.sweep_id)
            finished = info["done"] == info["total"]
            status = "finished" if finished else ("cancelled" if self._cancel.is_set() and not errors else "interrupted")
            records.set_sweep_status(db, self.sweep_id, status)
        if spec.executor == "ray":   # the jobs kept started ahead for the next run: no next run now
            from backend.bench.ray_standby_pool import stop_all

            stop_all()
        info["status"] = status
        self.on_event("finished", info)
        if errors:
            raise errors[0]
        return info

    def _run_one(self, db, spec: SweepSpec, row: dict, names_text: str) -> None:
        from backend.pipeline import DesignRunner, SessionStore, get_task

        task = get_task(row["task"])
        cfg = session_settings(spec, row["variant"])
        title = f"Bench #{self.sweep_id}: {row['task']} / {row['designer']} / {row['variant']} / run {row['run_index'] + 1}"
        session_id = SessionStore(db).create_session(task, row["designer"], spec.programmer, cfg, title=title)
        records.start_run(db, row["id"], session_id, spec.executor)
        self.on_event("run_started", {**row, "session_id": session_id})
        runner = DesignRunner(db, session_id, root=self.root, cancel=self._cancel)
        try:
            state = runner.run_until()
        finally:
            runner.close()
        if self._cancel.is_set():
            records.finish_run(db, row["id"], status="cancelled")
            self.on_event("run_finished", {**row, "session_id": session_id, "status": "cancelled"})
            return
        fields = summarize_session(state, self.root, row["variant"], names_text)
        records.finish_run(db, row["id"], **fields)
        self.on_event("run_finished", {**row, "session_id": session_id, **fields})


def start_sweep(db, spec: SweepSpec, *, root: Path | None = None) -> int:
    """Check ``spec`` completely, then record the sweep and its planned rows (nothing written on bad input)."""
    check_spec(spec, root)
    return records.create_sweep(db, spec)
