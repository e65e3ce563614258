"""Run a stored Generate run: papers concurrently on one asyncio loop, steps committed as they finish.

:func:`arun` is the coroutine the CLI runs with ``asyncio.run`` and the GUI runs on its qasync loop
or a controller-owned thread. It reads each pending paper (a worker thread: readers parse in child
processes), runs :func:`backend.generate.pipeline.aprocess_paper` on it with the run's answerer,
commits every step as it is answered and the paper's samples when it is done, and reports
progress (per-stage counts, samples, ETA, the last samples). Cancel: the caller's token (anything
with ``.cancelled``/``is_set()``/truthiness, e.g. ``deepones_gui.concurrent.CancelToken`` or a
``threading.Event``) or ``deepones generate cancel`` from another process (a flag in the store);
requests in flight are abandoned and the run is left resumable. A resume (after a cancel, a kill
or a crash) reruns only the papers not finished, reusing their committed steps.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from backend.generate import runs
from backend.generate.model import CodeUnit, Paper, PaperSource
from backend.generate.pipeline import GenerateOptions, StepRecord, aprocess_paper
from backend.generate.prompts import load_all

log = logging.getLogger(__name__)
CANCEL_POLL_S = 0.3
LAST_SAMPLES = 20

Reader = Callable[[PaperSource], tuple[Paper, list[CodeUnit]]]
ProgressFn = Callable[[dict[str, Any]], None]


class SourceError(ValueError):
    """A paper or repository that cannot be read; one line for the user."""


def is_cancelled(token: Any) -> bool:
    """Whatever cancel token the caller has: CancelToken (``.cancelled``), threading.Event, a callable."""
    if token is None:
        return False
    if hasattr(token, "cancelled"):
        return bool(token.cancelled)
    if hasattr(token, "is_set"):
        return bool(token.is_set())
    if callable(token):
        return bool(token())
    return bool(token)


@dataclass
class RunSettings:
    """How a run talks to its model (not part of what it produces)."""

    concurrency: int = 4
    timeout_s: float = 120.0
    max_retries: int = 4
    max_tokens: int = 1024
    context_size: int = 8192
    backoff_s: float = 1.0  # first retry's wait; doubles each retry (Retry-After wins)
    retry_failed: bool = False

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunSettings:
        return cls(
            **{
                k: options[k]
                for k in (
                    "concurrency",
                    "timeout_s",
                    "max_retries",
                    "max_tokens",
                    "context_size",
                    "backoff_s",
                    "retry_failed",
                )
                if k in options
            }
        )


def read_record_file(path: Path) -> tuple[Paper, list[CodeUnit]]:
    """A ``.paper.json`` file: a :class:`Paper` as ``to_dict`` writes it, plus ``code_units``
    (how a Ray shard or a test hands over a paper already read)."""
    from backend.generate.model import Section

    try:
        data = json.loads(path.read_text("utf-8"))
        paper = Paper(
            paper_id=data["paper_id"],
            title=data["title"],
            abstract=data.get("abstract", ""),
            sections=tuple(Section(s["name"], s["text"]) for s in data.get("sections", [])),
            year=data.get("year"),
            authors=tuple(data.get("authors", ())),
            source=str(path),
            source_kind=data.get("source_kind", "record"),
            metadata=data.get("metadata", {}),
        )
        units = [CodeUnit(**u) for u in data.get("code_units", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{path}: not a paper record ({type(exc).__name__}: {exc})") from exc
    return paper, units


def default_reader(source: PaperSource) -> tuple[Paper, list[CodeUnit]]:
    """Read a paper and its repository: paper records here, everything else through
    :mod:`backend.generate.sources` (LaTeX, PDF, unarXive, arXiv ids; folders, zips, GitHub)."""
    from backend.generate import sources

    try:
        path = Path(source.paper)
        if path.name.endswith(".paper.json"):
            paper, units = read_record_file(path)
        else:
            paper, units = sources.read_paper(source.paper), []
        if source.repo:
            units = units + list(sources.read_repository(source.repo))
    except sources.SourceError as exc:
        raise SourceError(str(exc)) from exc
    return paper, units


class _Progress:
    """Counts for the progress callback, seeded from the store so a resume continues its figures."""

    def __init__(self, db: sqlite_utils.Database, run_id: int, callback: ProgressFn | None) -> None:
        self.run_id, self.callback = run_id, callback
        self.papers = runs.papers(db, run_id)
        self.total = len(self.papers)
        self.done = sum(1 for p in self.papers if p["status"] in ("done", "skipped", "failed"))
        self.done_at_start = self.done
        self.steps: dict[str, Counter] = {}
        for stage, by_status in runs.counts(db, run_id)["steps"].items():
            self.steps[stage] = Counter(by_status)
        self.samples_added = sum(p["samples_added"] for p in self.papers)
        self.last_samples: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def step(self, record: StepRecord) -> None:
        self.steps.setdefault(record.name.split(":")[0], Counter())[record.status] += 1
        self.emit("step", record.name)

    def paper(self, added: int, samples: list[dict[str, Any]]) -> None:
        self.done += 1
        self.samples_added += added
        self.last_samples = (samples + self.last_samples)[:LAST_SAMPLES]
        self.emit("paper")

    def emit(self, event: str, detail: str = "") -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.started
        finished_now = self.done - self.done_at_start
        remaining = self.total - self.done
        eta = elapsed / finished_now * remaining if finished_now else None
        self.callback(
            {
                "event": event,
                "detail": detail,
                "run_id": self.run_id,
                "papers_total": self.total,
                "papers_done": self.done,
                "steps": {k: dict(v) for k, v in self.steps.items()},
                "samples_added": self.samples_added,
                "elapsed_s": elapsed,
                "eta_s": eta,
                "last_samples": list(self.last_samples),
            }
        )


async def arun(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    answerer=None,
    reader: Reader | None = None,
    progress: ProgressFn | None = None,
    cancel: Any = None,
) -> dict[str, Any]:
    """Run (or resume) ``run_id`` to the end, a cancel, or a failure; returns the run's summary.

    ``answerer``: default :func:`backend.generate.answerers.make_answerer` for the run's model.
    """
    from backend.generate.answerers import make_answerer
    from backend.generate.structured import AnswerError

    row = runs.claim_run(db, run_id)
    options = GenerateOptions.from_dict(row["options"])
    settings = RunSettings.from_options(row["options"])
    reader = reader or default_reader
    own_answerer = answerer is None
    try:
        if own_answerer:
            from backend.llm.base import GenerationSettings

            answerer = make_answerer(
                row["model"],
                concurrency=settings.concurrency,
                timeout_s=settings.timeout_s,
                max_retries=settings.max_retries,
                backoff_s=settings.backoff_s,
                # A fixed seed: the same model asked the same prompt answers the same way, so a
                # run is reproducible (llama.cpp; endpoints that honour ``seed``).
                settings=GenerationSettings(
                    temperature=0.2,
                    seed=0,
                    max_tokens=settings.max_tokens,
                    context_size=settings.context_size,
                    stop_on_loop=False,
                ),
            )
        prompts = load_all()
    except (AnswerError, ValueError) as exc:
        runs.set_run_status(db, run_id, "failed", str(exc))
        return summary(db, run_id)

    track = _Progress(db, run_id, progress)
    todo = [
        p
        for p in track.papers
        if p["status"] in ("pending", "running") or (settings.retry_failed and p["status"] == "failed")
    ]
    gate = asyncio.Semaphore(max(1, settings.concurrency))

    async def one(paper_row: dict[str, Any]) -> None:
        position = paper_row["position"]
        source = PaperSource(paper_row["source"], paper_row["repo"])
        async with gate:
            try:
                paper, units = await asyncio.to_thread(reader, source)
            except SourceError as exc:
                runs.set_paper_status(db, run_id, position, "failed", str(exc))
                track.paper(0, [])
                return
            runs.set_paper_read(db, run_id, position, paper, units)
            done = runs.done_steps(db, run_id, position, retry_failed=settings.retry_failed)

            def on_step(record: StepRecord) -> None:
                runs.record_step(db, run_id, position, record)
                track.step(record)

            result = await aprocess_paper(
                paper, units, answerer, options=options, done_steps=done, on_step=on_step, prompts=prompts
            )
            added = runs.record_paper_result(
                db,
                run_id,
                position,
                result,
                model=row["model"],
                dataset=row["dataset"],
                source=paper.source or source.paper,
            )
            track.paper(
                added,
                [
                    {
                        "kind": s.kind,
                        "category": s.category,
                        "instruction": s.instruction[:200],
                        "paper": paper.title,
                    }
                    for s in result.samples
                ],
            )

    tasks = [asyncio.ensure_future(one(p)) for p in todo]
    cancelled = False

    async def watch() -> None:
        nonlocal cancelled
        while True:
            await asyncio.sleep(CANCEL_POLL_S)
            if is_cancelled(cancel) or runs.cancel_requested(db, run_id):
                cancelled = True
                for task in tasks:
                    task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    track.emit("start")
    error: BaseException | None = None
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        error = next(
            (
                o
                for o in outcomes
                if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)
            ),
            None,
        )
    finally:
        watcher.cancel()
        if own_answerer:
            closer = getattr(answerer, "aclose", None) or getattr(answerer, "close", None)
            if closer is not None:
                outcome = closer()
                if asyncio.iscoroutine(outcome):
                    await outcome
    if cancelled:
        runs.set_run_status(
            db, run_id, "cancelled", f"cancelled; resume with `deepones generate resume {run_id}`"
        )
    elif error is not None:
        log.error("generate run %s failed", run_id, exc_info=error)
        runs.set_run_status(db, run_id, "failed", f"{type(error).__name__}: {error}")
    else:
        runs.set_run_status(db, run_id, "finished", None)
    runs.save_counts(db, run_id)
    track.emit("end")
    return summary(db, run_id)


def run(db: sqlite_utils.Database, run_id: int, **kwargs) -> dict[str, Any]:
    """:func:`arun` on a fresh event loop (CLI, tests, a worker thread)."""
    return asyncio.run(arun(db, run_id, **kwargs))


def summary(db: sqlite_utils.Database, run_id: int) -> dict[str, Any]:
    row = runs.run_row(db, run_id)
    counts = runs.counts(db, run_id)
    return {
        "run_id": run_id,
        "status": row["status"],
        "message": row["message"],
        "model": row["model"],
        "dataset": row["dataset"],
        **counts,
    }
