"""``deepones train`` (a training run as a job, optionally converted and quantised) and
``deepones model convert`` (any Hugging Face checkpoint -> GGUF)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click

from backend.cli.common import fail, store_or_exit
from backend.jobs.spec import JobStatus


def _progress(fraction: float, text: str) -> None:
    click.echo(f"[{fraction * 100:5.1f}%] {text}", err=True)


@click.command("train")
@click.option("--base", default="embedded", show_default=True,
              help="Base model: a Hugging Face model folder, a hub id in the HF cache, a .gguf, or 'embedded'.")
@click.option("--data", "data_source", required=True,
              help="A data file (Alpaca/ShareGPT/DeepData JSON/JSONL) or a Data filter, e.g. "
                   "'status=accepted;dataset=DeepData demo' ('all' for every sample).")
@click.option("--recipe", "recipe_source", default="paper", show_default=True,
              help="'paper' (two stages, 1% replay, the paper's values) or a recipe .json/.yaml file.")
@click.option("--trainer", type=click.Choice(["builtin", "llamafactory"]), default=None,
              help="Override the recipe's trainer.")
@click.option("--max-steps", type=int, default=None, help="Cap the optimiser steps of each stage.")
@click.option("--epochs", type=float, default=None, help="Epochs of every stage.")
@click.option("--max-seq-len", type=int, default=None, help="Override the recipe's maximum sequence length.")
@click.option("--batch-size", type=int, default=None, help="Override every stage's batch size.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--gpu", default=None, help="CUDA_VISIBLE_DEVICES for the job, e.g. 0 (queued per GPU).")
@click.option("--quantize", "quantization", default="Q8_0", show_default=True,
              help="After training: convert to GGUF and quantise (Q8_0, Q5_K_M, Q4_K_M), or 'none'.")
@click.option("--name", default="", help="A name for the run list.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line describing the run.")
def train(base, data_source, recipe_source, trainer, max_steps, epochs, max_seq_len, batch_size, device, gpu,
          quantization, name, as_json):
    """Fine-tune BASE on DATA as a job; stream its log; convert and quantise the result."""
    from backend.train.convert import ConvertError
    from backend.train.export import export_run
    from backend.train.launch import TrainError, prepare_run, run_to_end
    from backend.train.recipe import RecipeError, load_recipe

    try:
        recipe = load_recipe(recipe_source)
        if trainer:
            recipe.trainer = trainer
        if max_steps is not None:
            recipe.max_steps = max_steps
        if max_seq_len is not None:
            recipe.max_seq_len = max_seq_len
        for st in recipe.stages:
            if epochs is not None:
                st.epochs = epochs
            if batch_size is not None:
                st.batch_size = batch_size
        recipe.validate()
    except RecipeError as exc:
        fail(str(exc))
    store = store_or_exit()
    try:
        prepared = prepare_run(store, base=base, data_source=data_source, recipe=recipe, name=name)
    except TrainError as exc:
        fail(str(exc))
    for warning in prepared.warnings:
        click.echo(f"deepones: warning: {warning}", err=True)
    for s in prepared.summary:
        click.echo(f"stage {s['stage']}: {s['samples']} samples ({s['replayed']} replayed)", err=True)
    cancel = threading.Event()

    def on_output(stream: str, chunk: str) -> None:
        (sys.stdout if stream == "stdout" else sys.stderr).write(chunk)
        (sys.stdout if stream == "stdout" else sys.stderr).flush()

    from backend.cli.common import run_interruptible

    run, _ = run_interruptible(
        lambda: run_to_end(store, prepared.run_id, on_output=None if as_json else on_output, cancel=cancel,
                           device=device, gpu=gpu), cancel, "cancelling the training run…")
    gguf = None
    if run["status"] == JobStatus.SUCCEEDED and recipe.trainer == "builtin" and quantization.lower() != "none":
        try:
            gguf = export_run(store, prepared.run_id, quantization=quantization.upper(), progress=_progress)
        except ConvertError as exc:
            fail(str(exc), code=1)
    if as_json:
        click.echo(json.dumps({"run_id": run["id"], "status": run["status"], "steps": run.get("steps"),
                               "loss_first": run.get("loss_first"), "loss_last": run.get("loss_last"),
                               "adapter_path": run.get("adapter_path"),
                               "gguf_path": str(gguf) if gguf else None,
                               "quantization": quantization.upper() if gguf else None}))
    if run["status"] != JobStatus.SUCCEEDED:
        why = _last_error_line(Path(run["workdir"] or ".") / "stderr.log")
        click.echo(f"deepones: run {run['id']} ended {run['status']}" + (f": {why}" if why else "")
                   + "; resume it in the Train workspace", err=True)
    sys.exit(0 if run["status"] == JobStatus.SUCCEEDED else 1)


def _last_error_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text("utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if "error" in line.lower()), "")[-300:]


@click.command("convert")
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--outtype", type=click.Choice(["f16", "q8_0"]), default="f16", show_default=True,
              help="What llama.cpp's converter writes.")
@click.option("--quantize", "quantization", default=None, help="Then quantise to Q4_K_M, Q5_K_M or Q8_0.")
def convert(source, out, outtype, quantization):
    """Convert a Hugging Face checkpoint (folder or cached hub id) to the GGUF OUT."""
    from backend.llm.base import BackendError
    from backend.llm.quantize import quantize_model
    from backend.train.base_model import _cached_hub_folder
    from backend.train.convert import ConvertCancelled, ConvertError, convert_to_gguf

    src = Path(source).expanduser()
    if not src.is_dir():
        cached = _cached_hub_folder(source) if source.count("/") == 1 else None
        if cached is None:
            fail(f"{source} is neither a checkpoint folder nor a hub id in the Hugging Face cache")
        src = cached
    target = Path(out)
    if target.exists():
        fail(f"{target} already exists; delete it first or choose another name")
    try:
        if quantization:
            tmp = target.with_name(f".{target.stem}.{outtype}.gguf")
            tmp.unlink(missing_ok=True)
            try:
                convert_to_gguf(src, tmp, outtype=outtype, progress=_progress)
                quantize_model(tmp, target, quantization, progress=_progress)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            convert_to_gguf(src, target, outtype=outtype, progress=_progress)
    except (ConvertError, BackendError) as exc:
        fail(str(exc))
    except (ConvertCancelled, KeyboardInterrupt):
        fail("cancelled", code=130)
    click.echo(str(target))


def _attach_convert() -> None:
    """``convert`` belongs to the ``model`` group, which the chat area defines."""
    try:
        from backend.cli.chat import model
    except ImportError:  # pragma: no cover - the chat area is always there
        return
    if "convert" not in model.commands:
        model.add_command(convert)


_attach_convert()
COMMANDS = [train]
