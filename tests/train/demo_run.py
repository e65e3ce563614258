"""A small, complete run on the embedded SmolLM2 and the demo data: the Train screenshot, the
README, and a smoke test of the whole loop (train -> merge -> GGUF -> Q8_0 -> DeepQA)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.spec import JobStatus
from backend.train.recipe import Recipe

if TYPE_CHECKING:
    import sqlite_utils

DEMO_NAME = "SmolLM2 demo (paper recipe, shortened)"


def demo_recipe(max_steps: int = 6, seq_len: int = 64, batch: int = 2, fixed_batch: bool = False) -> Recipe:
    """The paper's recipe (both stages, 1% replay), shortened to run in a minute on a CPU.

    ``fixed_batch`` repeats each stage's first batch: a few steps on varied batches say little (the
    loss jumps with each batch), while a fixed batch shows the loss going down as it should."""
    recipe = Recipe(max_steps=max_steps, max_seq_len=seq_len, save_steps=2, optimizer="adamw",
                    fixed_batch=fixed_batch)
    for st in recipe.stages:
        st.batch_size = batch
    return recipe.validate()


def find_demo_run(db: sqlite_utils.Database) -> dict | None:
    from backend.train.runs import list_runs

    return next((r for r in list_runs(db) if r["name"] == DEMO_NAME and r.get("gguf_path")), None)


def run_demo(db: sqlite_utils.Database, root: Path | None = None, *, evaluate: bool = True) -> dict:
    """Train, convert to Q8_0 and (when the Bench scorer is there) run DeepQA; returns the run row."""
    from backend.datasets.demo import ensure_demo
    from backend.train import evaluate as train_eval
    from backend.train.export import export_run
    from backend.train.launch import prepare_run, run_to_end
    from backend.train.runs import get_run

    ensure_demo(db)
    prepared = prepare_run(db, base="embedded", data_source="all", recipe=demo_recipe(fixed_batch=True),
                           name=DEMO_NAME, root=root)
    run = run_to_end(db, prepared.run_id, root=root)
    if run["status"] != JobStatus.SUCCEEDED:
        return run
    export_run(db, prepared.run_id, quantization="Q8_0", root=root)
    if evaluate and train_eval.scorer_available():
        train_eval.before_after(db, prepared.run_id, limit=20)
    return get_run(db, prepared.run_id)
