"""From a finished run to a designer: merged folder -> GGUF -> quantised -> validated -> in Models.

The quantised file lands in the data dir's ``models/`` folder, which the model list reads, so Chat,
Design and Bench see it at once; the ``models`` table keeps its lineage (base, data and sample
counts, recipe, run, final loss, file hashes) and so does the run. Q8_0 is written by llama.cpp's
converter itself; the K-quants go through an f16 file in the run's folder (removed after). Every
result runs the llama.cpp canary before it gets its name; a failure leaves nothing in ``models/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from backend import paths
from backend.jobs.spec import JobStatus
from backend.train import runs
from backend.train.convert import ConvertCancelled, ConvertError, convert_to_gguf

if TYPE_CHECKING:
    import sqlite_utils

QUANTIZATIONS = ("Q8_0", "Q5_K_M", "Q4_K_M")
# Types llama.cpp's converter writes itself: no f16 file in between and no second pass over the
# weights (measured on SmolLM2: the f16 write plus llama_model_quantize cost more than the q8_0 write).
CONVERTER_OUTTYPES = {"Q8_0": "q8_0"}


def file_sha256(path: Path, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def model_file_name(run: dict, quantization: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(run["base"]["path"]).stem.split(".")[0]).strip("-") or "model"
    return f"{stem}-deepones-run{run['id']}.{quantization}.gguf"


def lineage_for(run: dict, gguf: Path, quantization: str) -> dict:
    base = run["base"]
    lineage = {
        "run_id": run["id"], "job_ids": run["job_ids"], "trainer": run["trainer"],
        "base": base.get("spec"), "base_path": base.get("path"), "base_kind": base.get("kind"),
        "data_source": run["data_source"], "data": run["data_summary"],
        "samples": sum(s["samples"] for s in run["data_summary"]),
        "recipe": run["recipe"], "steps": run.get("steps"), "final_loss": run.get("loss_last"),
        "quantization": quantization, "gguf_sha256": file_sha256(gguf), "created_at": time.time(),
    }
    ran = run.get("lineage") or {}
    # The optimiser that really ran (from the trainer's result), not only what the recipe asked for.
    lineage["optimizer"] = ran.get("optimizer") or run["recipe"].get("optimizer")
    if ran.get("optimizer_note"):
        lineage["optimizer_note"] = ran["optimizer_note"]
    if base.get("kind") == "gguf" and Path(base.get("path", "")).is_file():
        lineage["base_sha256"] = file_sha256(Path(base["path"]))
    return lineage


def register_model(db: sqlite_utils.Database, path: Path, lineage: dict) -> None:
    db["models"].insert({"name": path.name, "path": str(path), "source": "trained", "size_bytes": path.stat().st_size,
                         "metadata": json.dumps({"lineage": lineage}), "added_at": time.time()},
                        replace=True, alter=False)


def model_lineage(db: sqlite_utils.Database, path: Path | str) -> dict | None:
    row = db.conn.execute("SELECT metadata FROM models WHERE path=?", (str(path),)).fetchone()
    return json.loads(row[0]).get("lineage") if row else None


def lineage_summary(lineage: dict | None) -> str:
    """One paragraph for Models' details: where a trained model came from ("" for a model not trained here)."""
    if not lineage:
        return ""
    recipe = lineage.get("recipe") or {}
    optimizer = lineage.get("optimizer") or recipe.get("optimizer", "?")
    loss = lineage.get("final_loss")
    parts = [f"Training run #{lineage.get('run_id')} ({lineage.get('trainer', '?')}, {optimizer})",
             f"base {lineage.get('base', '?')}",
             f"data {lineage.get('data_source', '?')} ({lineage.get('samples', 0):,} samples)",
             f"{lineage.get('steps') or 0} steps" + (f", final loss {loss:.4f}" if loss is not None else ""),
             f"{lineage.get('quantization', '')}".strip()]
    text = " · ".join(p for p in parts if p)
    if lineage.get("optimizer_note"):
        text += f". Note: {lineage['optimizer_note']}"
    return text


def export_run(db: sqlite_utils.Database, run_id: int, *, quantization: str = "Q8_0", root: Path | None = None,
               progress: Callable[[float, str], None] | None = None, cancel=None) -> Path:
    """Convert, quantise, validate and register the run's merged model; returns the GGUF path."""
    run = runs.get_run(db, run_id)
    if run is None:
        raise ConvertError(f"no training run {run_id}")
    merged = run.get("merged_path")
    if run["status"] != JobStatus.SUCCEEDED or not merged or not Path(merged).is_dir():
        raise ConvertError(f"run {run_id} has no merged model yet (status {run['status']}): train it to the end first")
    if quantization not in QUANTIZATIONS:
        raise ConvertError(f"quantisation must be one of {', '.join(QUANTIZATIONS)}")
    report = progress or (lambda _f, _t: None)
    target = paths.models_dir(root) / model_file_name(run, quantization)
    if target.exists():
        raise ConvertError(f"{target} already exists; delete it in Models first")
    if quantization in CONVERTER_OUTTYPES:
        _convert_direct(merged, target, CONVERTER_OUTTYPES[quantization], root=root, report=report, cancel=cancel)
    else:
        _convert_then_quantize(merged, target, quantization, Path(run["run_dir"]) / "export", root=root,
                               report=report, cancel=cancel)
    report(0.97, "Recording the model's lineage…")
    lineage = lineage_for(run, target, quantization)
    register_model(db, target, lineage)
    runs.update_run(db, run_id, gguf_path=str(target), quantization=quantization, lineage=lineage)
    report(1.0, f"{target.name} is in Models")
    return target


def _convert_direct(merged: str, target: Path, outtype: str, *, root: Path | None, report, cancel) -> None:
    """The converter writes the final type; the same canary as after quantising proves it runs."""
    from backend.llm.base import BackendError
    from backend.llm.worker.safe_mode import probe

    partial = target.with_name(target.name + ".partial")   # not a *.gguf: the model list never shows it
    partial.unlink(missing_ok=True)
    try:
        convert_to_gguf(merged, partial, outtype=outtype, root=root, progress=lambda f, t: report(0.9 * f, t),
                        cancel=cancel)
        report(0.92, "Checking the result runs…")
        try:
            probe(partial, name=target.name)
        except BackendError as exc:
            raise ConvertError(f"the converted model does not run in llama.cpp: {exc}") from exc
        if cancel:
            raise ConvertCancelled()
        os.replace(partial, target)   # same size and mtime: the canary's record stays valid for target
    finally:
        partial.unlink(missing_ok=True)


def _convert_then_quantize(merged: str, target: Path, quantization: str, work: Path, *, root: Path | None,
                           report, cancel) -> None:
    """f16 GGUF in the run's folder, then llama.cpp's quantiser (which validates) into Models."""
    from backend.llm.base import BackendError
    from backend.llm.quantize import quantize_model

    work.mkdir(parents=True, exist_ok=True)
    f16 = work / "model.f16.gguf"
    f16.unlink(missing_ok=True)
    try:
        convert_to_gguf(merged, f16, outtype="f16", root=root, progress=lambda f, t: report(0.6 * f, t), cancel=cancel)
        try:
            quantize_model(f16, target, quantization, progress=lambda f, t: report(0.6 + 0.35 * f, t), cancel=cancel)
        except BackendError as exc:
            raise ConvertError(str(exc)) from exc
    finally:
        f16.unlink(missing_ok=True)


def use_as_designer(path: Path | str, root: Path | None = None) -> None:
    """Make the model the default designer (Chat, Design and Bench start with it)."""
    from backend.settings import load_settings, save_settings

    settings = load_settings(root)
    settings.designer_model = str(path)
    save_settings(settings, root)
