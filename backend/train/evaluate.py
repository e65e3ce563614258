"""DeepQA before and after: the base and the trained model on the same held-out questions.

The questions are the store's multiple-choice (``mcq``) samples; the paper's recipe never trains on
that kind, so they are held out by construction (any that did train are left out here anyway).
Scoring is the Bench area's log-likelihood scorer (``backend.bench.loglik``, lm-evaluation-harness
style acc and acc_norm), run in a child process (:mod:`backend.train.deepqa_worker`) because
llama.cpp is native code that must never crash the app. Both results and the two models' file
hashes are stored with the run (``evaluation``) for the Figure-4 style chart.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from backend.children import python_argv
from backend.datasets.query import SampleFilter, iter_rows
from backend.errors import UserError
from backend.train import runs
from backend.train.export import file_sha256

if TYPE_CHECKING:
    import sqlite_utils

SCORER = "backend.bench.loglik"


class EvaluateError(UserError, RuntimeError):
    """DeepQA cannot run; ``str(exc)`` is one line for the user."""


def scorer_available() -> bool:
    try:
        return importlib.util.find_spec(SCORER) is not None
    except ModuleNotFoundError:  # backend.bench itself is missing
        return False


def held_out_questions(db: sqlite_utils.Database, run: dict, limit: int = 50) -> list[dict]:
    trained = {(r.get("kind"), r.get("instruction")) for r in _trained_rows(run)}
    out = []
    for row in iter_rows(db, SampleFilter(kinds=("mcq",))):
        if row.get("status") == "rejected" or (row["kind"], row["instruction"]) in trained or not row.get("options"):
            continue
        out.append({"id": row["id"], "category": row["category"], "question": row["instruction"],
                    "options": json.loads(row["options"]), "answer": row["answer"]})
        if len(out) >= limit:
            break
    return out


def _trained_rows(run: dict) -> list[dict]:
    folder = Path(run.get("run_dir") or "") / "data"
    rows: list[dict] = []
    if folder.is_dir():
        for p in folder.glob("deepones_*.json"):
            rows += json.loads(p.read_text("utf-8"))
    return rows


def score_model(model: Path, questions: list[dict], *, cancel=None, timeout: float = 1800) -> dict:
    """Accuracy of ``model`` (a GGUF) on ``questions``, computed in a child process."""
    if not scorer_available():
        raise EvaluateError("DeepQA scoring (backend.bench.loglik, the Bench area) is not installed")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(questions, fh)
        qpath = fh.name
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.Popen(python_argv("-m", "backend.train.deepqa_worker", str(model), qpath),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise EvaluateError(f"DeepQA on {model.name} took longer than {timeout:.0f} s") from None
    finally:
        os.unlink(qpath)
    if cancel:
        raise EvaluateError("cancelled")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        why = (err.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise EvaluateError(f"DeepQA on {model.name} failed: {why}")
    return json.loads(lines[-1])


def before_after(db: sqlite_utils.Database, run_id: int, *, limit: int = 50,
                 progress: Callable[[float, str], None] | None = None, cancel=None) -> dict:
    """Score the base (when it is a GGUF) and the trained GGUF on the same questions; stored with the run."""
    run = runs.get_run(db, run_id)
    if run is None:
        raise EvaluateError(f"no training run {run_id}")
    if not run.get("gguf_path"):
        raise EvaluateError(f"run {run_id} has no GGUF yet: convert it first")
    questions = held_out_questions(db, run, limit)
    if not questions:
        raise EvaluateError("the store has no multiple-choice (DeepQA) questions to evaluate on")
    report = progress or (lambda _f, _t: None)
    models = {"trained": Path(run["gguf_path"])}
    if run["base"].get("kind") == "gguf":
        models = {"base": Path(run["base"]["path"]), **models}
    result: dict = {"questions": [q["id"] for q in questions]}
    for i, (label, path) in enumerate(models.items()):
        report(i / len(models), f"DeepQA on the {label} model ({len(questions)} questions)…")
        scored = score_model(path, questions, cancel=cancel)
        result[label] = {"model": str(path), "sha256": file_sha256(path), **scored}
    if "base" not in result:
        result["base_note"] = "the base is not a GGUF; convert it (deepones model convert) to score it"
    runs.update_run(db, run_id, evaluation=result)
    report(1.0, "DeepQA done")
    return result
