"""What the Generate workspace asks for, checked and turned into a run (Qt-free, so tests and other
front ends use it as the page does): the form's values, the papers they name, the estimate, the run.

The page keeps no rules of its own: :meth:`GeneratePlan.problem` says (in one line) what stops a
start, :func:`collect_sources` expands files / folders / a manifest into paper sources,
:func:`estimate_plan` reads the papers (the readers' native parsers run in child processes) and
prices the run, :func:`create_run` stores it for :mod:`backend.generate.runner` or
:mod:`backend.generate.ray_run` to execute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import sqlite_utils

from backend.errors import UserError
from backend.generate.model import PaperSource
from backend.generate.records import GenerateOptions

SETTINGS_KEY = "generate_form"  # Settings.extra key: the last inputs, restored when the page opens


class PlanError(UserError, ValueError):
    """A plan that cannot run; ``str(exc)`` is one line for the user."""


@dataclass
class GeneratePlan:
    papers: list[str] = field(default_factory=list)  # files, folders of papers, arXiv ids
    repo: str = ""  # the (one) paper's repository: folder, .zip or URL
    manifest: str = ""  # JSONL/CSV pairing many papers with repositories
    model: str = ""
    dataset: str = ""
    mcq_share: float = 0.01
    concurrency: int = 4
    price_in: float | None = None  # per million prompt tokens, for the cost estimate
    price_out: float | None = None  # per million completion tokens
    use_ray: bool = False

    def problem(self) -> str | None:
        """What stops this plan from starting, in one line, or None."""
        if not self.papers and not self.manifest:
            return "Add papers (files or a folder) or a manifest first."
        if not self.model.strip():
            return "Choose the designer model that writes the samples."
        if not self.dataset.strip():
            return "Name the dataset the samples land in."
        if not 0.0 <= self.mcq_share <= 1.0:
            return "The MCQ share is a fraction between 0 and 1."
        if self.concurrency < 1:
            return "Concurrency is at least 1."
        return None

    def options(self) -> dict[str, Any]:
        """The run's stored options (what a resume asks again)."""
        return {**GenerateOptions(mcq_share=self.mcq_share).to_dict(), "concurrency": self.concurrency}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> GeneratePlan:
        """Remembered inputs back (unknown or mistyped keys ignored: settings from another version)."""
        plan = cls()
        if not isinstance(data, dict):
            return plan
        for f in fields(cls):
            value = data.get(f.name)
            default = getattr(plan, f.name)
            if value is None:
                continue
            if isinstance(default, list) and isinstance(value, list):
                setattr(plan, f.name, [str(v) for v in value])
            elif isinstance(default, bool) and isinstance(value, bool):
                setattr(plan, f.name, value)
            elif (
                isinstance(default, (int, float))
                and not isinstance(default, bool)
                and isinstance(value, (int, float))
            ):
                setattr(plan, f.name, type(default)(value))
            elif f.name in ("price_in", "price_out") and isinstance(value, (int, float)):
                setattr(plan, f.name, float(value))
            elif isinstance(default, str) and isinstance(value, str):
                setattr(plan, f.name, value)
        return plan


def _absolute(value: str) -> str:
    """Local paths stored absolute (a run is resumed from anywhere); ids and URLs as given."""
    path = Path(value).expanduser()
    return str(path.resolve()) if value and path.exists() else value


def collect_sources(plan: GeneratePlan) -> tuple[list[PaperSource], list[str]]:
    """The papers a plan names, in order: each file, each paper of a folder, each manifest row.

    Returns (sources, problems); raises :class:`PlanError` when nothing usable is named."""
    from backend.generate import sources as readers

    found: list[PaperSource] = []
    problems: list[str] = []
    for item in plan.papers:
        item = _absolute(item.strip())
        path = Path(item).expanduser()
        if path.is_dir() and not path.name.endswith(".paper.json"):
            papers = readers.discover_papers(path)
            if not papers:
                problems.append(f"{path}: no papers in this folder (.tex, .tar.gz, .pdf, .jsonl)")
            found += [PaperSource(p) for p in papers]
        elif item:
            found.append(PaperSource(item))
    if plan.repo.strip():
        if len(found) != 1:
            raise PlanError(
                f"A repository pairs with one paper, but {len(found)} papers are listed; "
                "use a manifest to pair many."
            )
        found = [PaperSource(found[0].paper, _absolute(plan.repo.strip()))]
    if plan.manifest.strip():
        try:
            rows = readers.read_manifest(_absolute(plan.manifest.strip()))
        except readers.SourceError as exc:
            raise PlanError(str(exc)) from exc
        problems += [f"manifest: {p}" for p in getattr(rows, "problems", [])]
        found += list(rows)
    if not found:
        raise PlanError(
            "No papers found: " + (problems[0] if problems else "add files, a folder or a manifest.")
        )
    return found, problems


def estimate_plan(
    db: sqlite_utils.Database | None, plan: GeneratePlan, *, progress=None, cancel=None
) -> dict[str, Any]:
    """Read the plan's papers and price the run: the estimate's fields plus ``unreadable`` (one line
    per paper that cannot be read) and ``sources`` (how many papers the plan names)."""
    from backend.generate.estimate import estimate
    from backend.generate.runner import SourceError, default_reader, is_cancelled

    found, problems = collect_sources(plan)
    read = []
    for n, source in enumerate(found):
        if is_cancelled(cancel):
            raise PlanError("estimate cancelled")
        if progress is not None:
            progress(n / len(found), f"reading {Path(source.paper).name}")
        try:
            read.append(default_reader(source))
        except SourceError as exc:
            problems.append(str(exc))
    # Replayed answers take no model time: a speed "measured" on them would promise an instant run.
    measured_from = None if plan.model.startswith("replay:") else db
    est = estimate(
        read,
        GenerateOptions(mcq_share=plan.mcq_share),
        db=measured_from,
        model=plan.model,
        concurrency=plan.concurrency,
        price_in_per_m=plan.price_in,
        price_out_per_m=plan.price_out,
    )
    return {**est.to_dict(), "sources": len(found), "unreadable": problems}


def describe_estimate(est: dict[str, Any]) -> str:
    """The estimate in one or two lines for the page."""
    minutes = est["time_s"] / 60
    duration = (
        f"{est['time_s']:.0f} s"
        if minutes < 2
        else f"{minutes:.0f} min"
        if minutes < 120
        else f"{minutes / 60:.1f} h"
    )
    cost = f" · cost ≈ {est['cost']:.2f}" if est.get("cost") is not None else ""
    speed = {"measured": "measured", "given": "given", "default": "assumed"}.get(
        est["tokens_per_s_source"], ""
    )
    text = (
        f"{est['papers']} paper(s) · ~{est['requests']:,} requests · ~{est['prompt_tokens']:,} prompt + "
        f"~{est['completion_tokens']:,} completion tokens · ~{duration} at {est['tokens_per_s']:g} tokens/s "
        f"({speed}){cost} · MCQs for {est['mcq_papers']} paper(s)"
    )
    if est.get("unreadable"):
        text += f"\n⚠ {len(est['unreadable'])} unreadable: {est['unreadable'][0]}"
    return text


def create_run(db: sqlite_utils.Database, plan: GeneratePlan) -> int:
    """Store the plan as a new run (pending); raises :class:`PlanError` with the reason it cannot."""
    from backend.generate import runs

    if problem := plan.problem():
        raise PlanError(problem)
    found, _problems = collect_sources(plan)
    model = plan.model.strip()
    if model.startswith("replay:"):
        model = "replay:" + _absolute(model.removeprefix("replay:"))
    return runs.create_run(db, found, model=model, dataset=plan.dataset.strip(), options=plan.options())
