"""A Generate run on a Ray cluster: the same per-paper function as Ray tasks, results imported as they arrive.

The app reads the run's pending papers and repositories here (the readers' child processes stay on
this machine, and the cluster needs none of the user's files), then submits ONE Ray job through the
Jobs API (never ``ray.init`` in the app; cluster settings are Bench's :class:`RaySettings`). Its
working_dir carries the papers as records, the run's prompts, the ``backend`` package, and a
``replay:`` file when the model is one; the job's driver (:mod:`backend.generate.ray_job`) runs
:func:`~backend.generate.pipeline.aprocess_paper` per paper as Ray tasks, each worker calling the
endpoint itself. Every finished paper comes back as one line of the job's log; it is written to a
JSONL shard under ``<data dir>/generate/runs/<run>/shards/`` and imported into the store at once.
Importing is idempotent (steps by name, samples by content hash), so a shard imported twice —
after a crash between the write and the import, or by :func:`import_shards` — adds nothing.
Cancel stops the job; unfinished papers stay pending for a resume (local or on Ray).
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlite_utils

from backend import paths
from backend.bench.ray_cluster import RayError, RaySettings, _client, submit_job
from backend.generate import runs
from backend.generate.model import PaperSource
from backend.generate.prompts import load_all
from backend.generate.ray_wire import DONE_MARK, MARK, decode, prompts_to_dict
from backend.generate.records import PaperResult
from backend.generate.runner import SourceError, _Progress, default_reader, is_cancelled, summary

BACKEND_DIR = Path(__file__).resolve().parents[1]
PROMPTS_DIR = BACKEND_DIR.parent / "resources" / "generate"
RAY_FINAL = ("SUCCEEDED", "FAILED", "STOPPED")
POLL_S = 0.5


# -- what travels to the cluster -------------------------------------------------------------------
def shard_dir(run_id: int, root: Path | None = None) -> Path:
    return (
        (Path(root) if root is not None else paths.data_dir()) / "generate" / "runs" / str(run_id) / "shards"
    )


def _stage(staging: Path, row: dict[str, Any], items: list[dict], concurrency: int) -> None:
    """The job's working_dir: the driver, the backend package, the packaged prompts, the inputs."""
    shutil.copytree(BACKEND_DIR, staging / "backend", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(
        PROMPTS_DIR, staging / "resources" / "generate", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(BACKEND_DIR / "generate" / "ray_job.py", staging / "ray_job.py")
    model = row["model"]
    if model.startswith("replay:"):  # recorded answers travel with the job (keyed: any worker, any order)
        source = Path(model.removeprefix("replay:")).expanduser()
        try:
            shutil.copy2(source, staging / "replay.jsonl")
        except OSError as exc:
            raise RayError(f"the replay file {source} cannot be read: {exc.strerror or exc}") from exc
        model = "replay:replay.jsonl"
    spec = {
        "model": model,
        "options": row["options"],
        "prompts": prompts_to_dict(load_all()),
        "items": items,
        "concurrency": concurrency,
    }
    (staging / "input.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")


def _read_pending(
    db: sqlite_utils.Database, run_id: int, reader, track: _Progress, retry_failed: bool, cancel: Any
) -> list[dict]:
    """Read each paper still to do (here, in child processes for native parsers); a paper that
    cannot be read fails alone with its reason."""
    items = []
    for p in runs.papers(db, run_id):
        if not (p["status"] in ("pending", "running") or (retry_failed and p["status"] == "failed")):
            continue
        if is_cancelled(cancel):
            break
        try:
            paper, units = reader(PaperSource(p["source"], p["repo"]))
        except SourceError as exc:
            runs.set_paper_status(db, run_id, p["position"], "failed", str(exc))
            track.paper(0, [])
            continue
        runs.set_paper_read(db, run_id, p["position"], paper, units)
        done = runs.done_steps(db, run_id, p["position"], retry_failed=retry_failed)
        items.append(
            {
                "position": p["position"],
                "paper": paper.to_dict(),
                "units": [u.to_dict() for u in units],
                "done_steps": {name: s.to_dict() for name, s in done.items()},
                "source": paper.source or p["source"],
            }
        )
    return items


# -- what comes back ---------------------------------------------------------------------------------
def write_shard(folder: Path, position: int, payload: dict) -> Path:
    """One finished paper as a JSONL shard (written whole, then renamed: never half a line)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"paper-{position:06d}.jsonl"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"position": position, **payload}, ensure_ascii=False) + "\n", "utf-8")
    tmp.replace(target)
    return target


def import_shard(
    db: sqlite_utils.Database,
    run_id: int,
    path: Path,
    row: dict[str, Any],
    sources: dict[int, str] | None = None,
) -> tuple[int, PaperResult | None]:
    """Import one shard: its steps, then its samples with provenance. Returns (samples added, result)."""
    record = json.loads(path.read_text("utf-8").splitlines()[0])
    position = int(record["position"])
    if "error" in record:
        runs.set_paper_status(db, run_id, position, "failed", f"on the Ray cluster: {record['error']}")
        return 0, None
    result = PaperResult.from_dict(record["result"])
    for step in result.steps:
        runs.record_step(db, run_id, position, step)
    source = (sources or {}).get(position, "")
    added = runs.record_paper_result(
        db, run_id, position, result, model=row["model"], dataset=row["dataset"], source=source
    )
    return added, result


def import_shards(db: sqlite_utils.Database, run_id: int, root: Path | None = None) -> int:
    """Import every shard of ``run_id`` (again): what a crash between a shard's write and its import
    left behind. Idempotent; returns the samples added."""
    row = runs.run_row(db, run_id)
    folder = shard_dir(run_id, root)
    return sum(import_shard(db, run_id, path, row)[0] for path in sorted(folder.glob("paper-*.jsonl")))


class _LogFollower:
    """The job's log, followed on a thread of its own: marker lines go to ``lines`` as they arrive."""

    def __init__(self, client, submission_id: str) -> None:
        self.client, self.submission_id = client, submission_id
        self.lines: queue.Queue[str] = queue.Queue()
        self._buffer = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=f"generate-ray-{submission_id}", daemon=True)
        self._thread.start()

    def _feed(self, chunk: str) -> None:
        self._buffer += chunk
        complete, _, self._buffer = self._buffer.rpartition("\n")
        for line in complete.splitlines():
            if line.startswith((MARK, DONE_MARK)):
                self.lines.put(line)

    def _run(self) -> None:
        async def follow() -> None:
            async for chunk in self.client.tail_job_logs(self.submission_id):
                self._feed(chunk)

        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(follow())
        except BaseException:  # noqa: BLE001 - cut off or stopped: get_job_logs fills in what the tail missed
            pass
        finally:
            loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
            except RuntimeError:
                pass
        self._thread.join(5)


def run_on_ray(
    db: sqlite_utils.Database,
    run_id: int,
    settings: RaySettings | None = None,
    *,
    root: Path | None = None,
    reader=None,
    progress=None,
    cancel: Any = None,
) -> dict[str, Any]:
    """Run (or resume) ``run_id`` as a Ray job; returns the run's summary (as the local run does).

    Raises :class:`RayError` (one line) when the cluster cannot be used; the run is then left as it was.
    """
    settings = settings or RaySettings.load(root)
    if problem := settings.problem():
        raise RayError(problem)
    client = _client(settings.address)  # a clear error now when nothing answers there
    row = runs.claim_run(db, run_id)
    options = row["options"]
    retry_failed = bool(options.get("retry_failed"))
    track = _Progress(db, run_id, progress)
    track.emit("start")
    folder = shard_dir(run_id, root)
    import_shards(db, run_id, root)  # anything a crashed app wrote but did not import
    items = _read_pending(db, run_id, reader or default_reader, track, retry_failed, cancel)
    sources = {item["position"]: item["source"] for item in items}
    reused = {item["position"]: set(item["done_steps"]) for item in items}
    cancelled = is_cancelled(cancel)
    status, message = "finished", None
    if items and not cancelled:
        with tempfile.TemporaryDirectory(prefix="deepones-generate-") as tmp:
            staging = Path(tmp)
            _stage(staging, row, items, int(options.get("concurrency", 4)))
            runtime_env: dict[str, Any] = {"working_dir": str(staging)}
            if settings.pip:
                runtime_env["pip"] = list(settings.pip)
            if settings.conda:
                runtime_env["conda"] = settings.conda
            try:
                submission_id = submit_job(
                    client,
                    entrypoint=f"{settings.python} ray_job.py input.json",
                    runtime_env=runtime_env,
                    metadata={"deepones": "generate", "run": str(run_id)},
                )
            except Exception as exc:
                runs.set_run_status(db, run_id, "failed", f"the Ray job could not be submitted: {exc}")
                raise RayError(
                    f"the Ray job could not be submitted: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                ) from exc
        cancelled, status, message = _follow(
            db, run_id, client, submission_id, row, folder, sources, reused, track, cancel
        )
    if cancelled:
        runs.set_run_status(
            db, run_id, "cancelled", f"cancelled; resume with `deepones generate resume {run_id}`"
        )
    else:
        runs.set_run_status(db, run_id, status, message)
    runs.save_counts(db, run_id)
    track.emit("end")
    return summary(db, run_id)


def _follow(
    db,
    run_id: int,
    client,
    submission_id: str,
    row: dict,
    folder: Path,
    sources: dict[int, str],
    reused: dict[int, set[str]],
    track: _Progress,
    cancel: Any,
) -> tuple[bool, str, str | None]:
    """Import each paper as its log line arrives, until the job ends or is cancelled."""
    follower = _LogFollower(client, submission_id)
    seen: set[int] = set()

    def take(line: str) -> None:
        if not line.startswith(MARK):
            return
        position, payload = decode(line)
        if position in seen:
            return
        seen.add(position)
        path = write_shard(folder, position, payload)
        added, result = import_shard(db, run_id, path, row, sources)
        if result is not None:
            for step in result.steps:
                if step.name not in reused.get(
                    position, ()
                ):  # steps reused from the store were counted already
                    track.step(step)
        track.paper(
            added,
            [
                {
                    "kind": s.kind,
                    "category": s.category,
                    "instruction": s.instruction[:200],
                    "paper": result.title,
                }
                for s in (result.samples if result else [])
            ],
        )

    try:
        while True:
            if is_cancelled(cancel) or runs.cancel_requested(db, run_id):
                try:
                    client.stop_job(submission_id)
                except Exception:  # noqa: BLE001 - gone already: nothing left to stop
                    pass
                _drain(follower, take)
                return True, "cancelled", None
            _drain(follower, take, timeout=POLL_S)
            state = str(client.get_job_status(submission_id)).rsplit(".", 1)[-1]
            if state in RAY_FINAL:
                break
        # Everything the tail may have missed, from the whole log.
        for line in (client.get_job_logs(submission_id) or "").splitlines():
            if line.startswith(MARK):
                take(line)
        _drain(follower, take)
        if state != "SUCCEEDED":
            info = client.get_job_info(submission_id)
            return False, "failed", f"the Ray job ended {state}: {(info.message or '').strip()[:300]}"
        return False, "finished", None
    finally:
        follower.stop()


def _drain(follower: _LogFollower, take, timeout: float = 0.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = follower.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return
        take(line)
