"""Preparing, starting, resuming and finishing training runs. Each start is an ordinary job.

``prepare_run`` checks everything that can be checked before a job exists (base, data, recipe,
disk space) and writes the run's data files once into ``<data dir>/train/runs/<id>/``, so a resume
trains on exactly the same samples. ``start_run`` builds the job (the trainer program, its
``run.json`` and the stage files) and submits it to an executor; ``finish_run`` reads the job's
``result.json`` back into the run row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend import paths
from backend.errors import UserError
from backend.jobs.spec import JobLimits, JobSpec, JobStatus
from backend.train import data as train_data
from backend.train import llamafactory, runs
from backend.train.base_model import BaseModel, merged_size_bytes, resolve_base
from backend.train.recipe import Recipe

if TYPE_CHECKING:
    import sqlite_utils

TRAINER_SOURCE = Path(__file__).with_name("builtin_trainer.py")
PROGRAM = "train_program.py"
REQUIRED_MODULES = ("torch", "transformers", "peft")
# Cancel sends SIGTERM; the trainer finishes its step and writes a checkpoint before it exits.
CANCEL_GRACE_S = 60.0


class TrainError(UserError, RuntimeError):
    """A run cannot start; ``str(exc)`` is one line for the user."""


@dataclass
class PreparedRun:
    run_id: int
    warnings: list[str]
    summary: list[dict]


def runs_dir(root: Path | None = None) -> Path:
    return (root or paths.data_dir()) / "train" / "runs"


def missing_modules(interpreter: str, modules: tuple[str, ...] = REQUIRED_MODULES) -> list[str]:
    """Modules the execution environment lacks (asked of that Python, found without importing)."""
    code = ("import importlib.util, sys; names = sys.argv[1:]; "
            "print(' '.join(n for n in names if importlib.util.find_spec(n) is None))")
    try:
        out = subprocess.run([interpreter, "-c", code, *modules], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrainError(f"the execution environment {interpreter} cannot run: {exc}") from exc
    if out.returncode != 0:
        raise TrainError(f"the execution environment {interpreter} failed: {out.stderr.strip()[-200:]}")
    return out.stdout.split()


# The [train] extra of pyproject.toml, for when the app runs without its distribution metadata (a bundle).
TRAIN_EXTRA_FALLBACK = ("transformers>=4.57", "peft>=0.13", "sentencepiece>=0.2", "protobuf>=4.21", "accelerate>=1.0")


def train_extra_requirements() -> list[str]:
    """The [train] extra's requirements, as this installation declares them (pyproject.toml is the truth)."""
    import importlib.metadata as metadata

    try:
        reqs = metadata.requires("deepones-studio") or []
    except metadata.PackageNotFoundError:
        return list(TRAIN_EXTRA_FALLBACK)
    found = [r.split(";")[0].strip() for r in reqs if 'extra == "train"' in r.replace("'", '"')]
    return found or list(TRAIN_EXTRA_FALLBACK)


def source_checkout() -> Path | None:
    """The project folder when the app runs from a source checkout (pyproject.toml beside ``backend/``)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "backend").is_dir() else None


def install_hint(interpreter: str, missing: list[str]) -> str:
    """How to add what Train needs, in a form that works here (a checkout has no 'deepones-studio' on PyPI)."""
    root = source_checkout()
    extra = f"cd {root} && {interpreter} -m pip install '.[train]'" if root else \
        f"{interpreter} -m pip install 'deepones-studio[train]'"
    return f"{interpreter} -m pip install {' '.join(missing)}  (or the whole extra: {extra}; Train offers a one-click install)"


def install_train_extra(interpreter: str, *, on_line=None, cancel=None) -> list[str]:
    """pip-install the [train] extra's requirements into ``interpreter``'s environment, streaming pip's
    output; returns the modules still missing afterwards (empty: Train can run)."""
    from backend.envs import install_packages

    install_packages(interpreter, train_extra_requirements(), on_line=on_line, cancel=cancel)
    return missing_modules(interpreter)


def check_environment(interpreter: str, trainer: str) -> None:
    if trainer == "llamafactory":
        if shutil.which("llamafactory-cli", path=str(Path(interpreter).parent)) is None:
            raise TrainError(llamafactory.NOT_INSTALLED.format(python=interpreter))
        return
    missing = missing_modules(interpreter)
    if missing:
        raise TrainError(f"the execution environment ({interpreter}) lacks {', '.join(missing)}: "
                         f"{install_hint(interpreter, missing)}")


def check_disk(base: BaseModel, folder: Path) -> None:
    need = merged_size_bytes(base)
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if need and free < need * 1.1:
        raise TrainError(f"not enough disk space in {folder} for the merged model: about "
                         f"{need / 2**30:.1f} GB needed, {free / 2**30:.1f} GB free")


def prepare_run(db: sqlite_utils.Database, *, base: str, data_source: str, recipe: Recipe, name: str = "",
                root: Path | None = None, interpreter: str | None = None) -> PreparedRun:
    """Validate and record a run (nothing is written when a check fails)."""
    from backend.settings import load_settings

    recipe.validate()
    try:
        model = resolve_base(base)
    except ValueError as exc:
        raise TrainError(str(exc)) from exc
    if recipe.trainer == "llamafactory" and model.kind == "gguf":
        raise TrainError("LLaMA-Factory trains Hugging Face models: give a model folder or a cached hub id "
                         "(the built-in trainer can start from a GGUF)")
    try:
        rows = train_data.select_rows(data_source, db)
        stages = train_data.split_stages(rows, recipe)
        kept = train_data.check_trainable(stages)
    except ValueError as exc:
        raise TrainError(str(exc)) from exc
    interpreter = interpreter or load_settings(root).interpreter
    check_environment(interpreter, recipe.trainer)
    folder = runs_dir(root)
    check_disk(model, folder)
    summary = train_data.stage_summary(stages)
    warnings = train_data.empty_stage_warnings(stages)
    run_id = runs.create_run(db, name=name or f"{Path(model.path).stem} on {data_source}", trainer=recipe.trainer,
                             base=model.to_dict(), data_source=data_source, data_summary=summary,
                             recipe=recipe.to_dict())
    run_dir = folder / str(run_id)
    try:
        (run_dir / "data").mkdir(parents=True, exist_ok=True)
        for fname, text in train_data.stage_files(kept).items():
            (run_dir / "data" / fname).write_text(text, "utf-8")
        (run_dir / "stages.json").write_text(json.dumps([s.name for s in kept]), "utf-8")
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        db.conn.execute("DELETE FROM train_runs WHERE id=?", (run_id,))
        raise TrainError(f"cannot write the run's data files in {run_dir}: {exc}") from exc
    runs.update_run(db, run_id, run_dir=str(run_dir), message="; ".join(warnings) or None)
    return PreparedRun(run_id, warnings, summary)


def _stage_plan(run: dict) -> list[dict]:
    recipe = Recipe.from_dict(run["recipe"])
    kept = json.loads((Path(run["run_dir"]) / "stages.json").read_text("utf-8"))
    by_name = {s.name: s for s in recipe.stages}
    return [{"name": n, "file": f"data/{train_data.dataset_name(n)}.json", "recipe": by_name[n].__dict__}
            for n in kept]


def job_spec(run: dict, *, resume_from: str | None = None, device: str = "auto",
             interpreter: str | None = None, torch_threads: int | None = None, gpu: str | None = None) -> JobSpec:
    """The job for one start (or resume) of ``run``."""
    run_dir = Path(run["run_dir"])
    files = {f"data/{p.name}": p.read_text("utf-8") for p in sorted((run_dir / "data").iterdir())}
    limits = JobLimits(kill_grace_s=CANCEL_GRACE_S, time_limit_s=7 * 24 * 3600.0,
                       train_time_limit_s=7 * 24 * 3600.0)
    name = f"train #{run['id']}" + (" (resumed)" if resume_from else "")
    if run["trainer"] == "llamafactory":
        lf_files, argv = llamafactory.job(run, _stage_plan(run))
        files.update(lf_files)
        return JobSpec(argv=argv, interpreter=interpreter, name=name, files=files,
                       limits=limits, origin=f"train:{run['id']}", gpu=gpu)
    base = dict(run["base"])
    if base["kind"] == "gguf":
        base["cache"] = str(base_cache_dir(Path(run["run_dir"]).parents[2]) / base_cache_key(base))
    cfg: dict[str, Any] = {"base": base, "recipe": run["recipe"], "stages": _stage_plan(run),
                           "device": device, "resume_from": resume_from, "merge": True}
    if torch_threads:
        cfg["torch_threads"] = torch_threads
    files[PROGRAM] = TRAINER_SOURCE.read_text("utf-8")
    files["run.json"] = json.dumps(cfg, indent=1)
    # The float copy of a GGUF base is a cache shared by runs: the confined trainer may write it.
    extra_write = [str(Path(base["cache"]).parent)] if base.get("cache") else []
    if extra_write:
        Path(extra_write[0]).mkdir(parents=True, exist_ok=True)
    return JobSpec(argv=[PROGRAM, "run.json"], interpreter=interpreter, name=name, files=files, limits=limits,
                   origin=f"train:{run['id']}", gpu=gpu, extra_write=extra_write)


def base_cache_dir(root: Path) -> Path:
    """Float copies of GGUF bases (``DEEPONES_TRAIN_CACHE`` overrides; on the job's machine)."""
    override = os.environ.get("DEEPONES_TRAIN_CACHE")
    return Path(override) if override else root / "train" / "base-cache"


def base_cache_key(base: dict) -> str:
    p = Path(base["path"])
    st = p.stat()
    return f"{p.stem}-{st.st_size}-{int(st.st_mtime)}"


# The trainer's log lines that name what it is doing before (and after) the first optimiser step.
PHASE_PREFIXES = ("Loading base model", "Base model loaded", "Resuming from", "Tokenising", "Stage ",
                  "Merging the adapter", "Training done", "Cancelled")


def latest_metrics(workdir: Path | str, tail_bytes: int = 16384) -> dict:
    """The trainer's last JSON metric line (tokens/s, ETA, loss) from the job's stdout, read from its tail,
    with ``phase``: its latest phase line ("Loading base model …", "Tokenising …") when that came after
    the last metric, else "training" once steps are reported ("" before anything was printed)."""
    path = Path(workdir) / "stdout.log"
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            lines = fh.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    phase = ""
    for line in reversed(lines):
        if line.startswith("{") and '"step"' in line:
            try:
                return {**json.loads(line), "phase": phase or "training"}
            except ValueError:
                continue
        if not phase and line.startswith(PHASE_PREFIXES):
            phase = line.strip()
    return {"phase": phase} if phase else {}


def last_checkpoint(db: sqlite_utils.Database, run: dict) -> str | None:
    """The newest checkpoint among the run's jobs (a resume continues from it)."""
    root = Path(run["run_dir"]).parents[2]
    for job_id in reversed(run["job_ids"]):
        row = db.conn.execute("SELECT workdir FROM jobs WHERE id=?", (job_id,)).fetchone()
        workdir = Path(row[0]) if row else paths.jobs_dir(root) / job_id
        if (workdir / "checkpoint" / "position.json").is_file():
            return str(workdir / "checkpoint")
    return None


def start_run(db: sqlite_utils.Database, run_id: int, *, resume: bool = False, root: Path | None = None,
              executor: str = "local", device: str = "auto", torch_threads: int | None = None,
              gpu: str | None = None):
    """Submit the run's job (a resume starts from its last checkpoint); returns the job handle."""
    from backend.jobs.executors import get_executor

    run = runs.get_run(db, run_id)
    if run is None:
        raise TrainError(f"no training run {run_id}")
    resume_from = None
    if resume:
        if run["trainer"] != "builtin":
            raise TrainError("resuming is supported for the built-in trainer; LLaMA-Factory runs restart")
        resume_from = last_checkpoint(db, run)
        if resume_from is None:
            raise TrainError(f"run {run_id} has no checkpoint to resume from; start it again instead")
    spec = job_spec(run, resume_from=resume_from, device=device, torch_threads=torch_threads, gpu=gpu)
    handle = get_executor(executor, root=root, db=db).submit(spec)
    runs.attach_job(db, run_id, handle.job_id, str(handle.workdir))
    return handle


def optimizer_record(recipe: dict, used: str) -> dict:
    """The optimiser that ran, with a note when it is not the recipe's (adam-mini missing: AdamW)."""
    asked = recipe.get("optimizer", "")
    out = {"optimizer": used}
    # Only a fallback is worth a note: "adamw" running as "AdamW with LoRA+" is the recipe's own choice.
    if asked.lower() == "adam-mini" and "adam-mini" not in used.lower():
        out["optimizer_note"] = (f"the recipe asked for {asked}, but {used} ran ({asked} is not installed in the "
                                 f"execution environment; pip install '.[adam]' there to use it)")
    return out


def finish_run(db: sqlite_utils.Database, run_id: int, job_status: str) -> dict:
    """Bring the run row up to date after its job ended (result.json, status, lineage basics)."""
    run = runs.get_run(db, run_id)
    if run is None:
        raise TrainError(f"no training run {run_id}")
    values: dict[str, Any] = {"status": job_status}
    result_path = Path(run["workdir"] or "") / "result.json"
    if job_status == JobStatus.SUCCEEDED and result_path.is_file():
        result = json.loads(result_path.read_text("utf-8"))
        values.update(steps=result.get("steps"), loss_first=result.get("loss_first"),
                      loss_last=result.get("loss_last"), adapter_path=result.get("adapter_path"),
                      merged_path=result.get("merged_path"))
        if result.get("tokens_per_s"):   # optimiser steps only (loading and merging are not training)
            values["tokens_per_s"] = result["tokens_per_s"]
        if result.get("optimizer"):
            values["lineage"] = {**(run.get("lineage") or {}), **optimizer_record(run["recipe"], result["optimizer"])}
    runs.update_run(db, run_id, **values)
    return runs.get_run(db, run_id)


def run_to_end(db: sqlite_utils.Database, run_id: int, *, resume: bool = False, root: Path | None = None,
               on_output=None, cancel=None, **kwargs) -> dict:
    """Start (or resume) the run, wait for its job, record the outcome; returns the run row."""
    from backend.jobs.finalise import finalise_job
    from backend.jobs.runner import read_status

    handle = start_run(db, run_id, resume=resume, root=root, **kwargs)
    result = handle.wait(on_output=on_output, cancel=cancel)
    finalise_job(db, result, read_status(handle.workdir))
    return finish_run(db, run_id, result.status)


def sync_runs(db: sqlite_utils.Database) -> list[int]:
    """Finish runs whose job ended while nobody watched (app closed, CLI interrupted); returns their ids."""
    from backend.jobs import records
    from backend.jobs.runner import FINAL_STATUSES, read_status

    done = []
    for run in runs.list_runs(db):
        if run["status"] not in (JobStatus.QUEUED, JobStatus.RUNNING) or not run.get("workdir"):
            continue
        status = read_status(Path(run["workdir"])).get("status")
        if status in FINAL_STATUSES:
            records.sync_jobs(db)
            finish_run(db, run["id"], status)
            done.append(run["id"])
    return done
