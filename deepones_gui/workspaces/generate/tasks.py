"""Work the Generate page runs off the GUI thread (short tasks on the shared pool; the run itself is
owned by :class:`~deepones_gui.workspaces.generate.controller.RunController`): each opens its own
store connection and calls backend functions only."""

from __future__ import annotations

from pathlib import Path

from backend.generate import browse
from backend.generate.plan import GeneratePlan, create_run, estimate_plan
from backend.store import connection


def estimate(db_path: Path, plan: GeneratePlan, *, progress, partial, cancel) -> dict:
    with connection(db_path) as db:
        return estimate_plan(db, plan, progress=progress, cancel=cancel)


def new_run(db_path: Path, plan: GeneratePlan, *, progress, partial, cancel) -> int:
    with connection(db_path) as db:
        return create_run(db, plan)


def run_list(db_path: Path, *, progress, partial, cancel) -> list[dict]:
    with connection(db_path) as db:
        return browse.run_list(db)


def steps(db_path: Path, run_id: int, *, progress, partial, cancel) -> tuple[int, list[dict]]:
    with connection(db_path) as db:
        return run_id, browse.step_list(db, run_id)


def step(db_path: Path, run_id: int, position: int, name: str, *, progress, partial, cancel) -> dict | None:
    with connection(db_path) as db:
        return browse.step_detail(db, run_id, position, name)


def samples(db_path: Path, run_id: int, *, progress, partial, cancel) -> list[dict]:
    with connection(db_path) as db:
        return browse.recent_samples(db, run_id)
