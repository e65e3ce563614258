"""The LLaMA-Factory trainer, for large runs on a GPU machine.

The app writes what ``llamafactory-cli train`` reads: the stage datasets (Alpaca JSON, written by
:mod:`backend.train.data` with the exporter's ``dataset_info.json``) and one training YAML per
stage equivalent to the recipe. Stage 2 continues the stage-1 adapter (``adapter_name_or_path``;
LLaMA-Factory resumes training an adapter it is given unless ``create_new_adapter`` is set). A
small driver program runs the stages one after another as one job, so the run's loss streams into
the Jobs charts from LLaMA-Factory's own ``{'loss': ...}`` log lines.
"""

from __future__ import annotations

import json
from pathlib import Path

PROGRAM = "run_llamafactory.py"
NOT_INSTALLED = ("LLaMA-Factory is not installed in the execution environment ({python}): "
                 "{python} -m pip install llamafactory  (or choose the built-in trainer)")

# LLaMA-Factory's template for a base, by a fragment of its name; "default" otherwise.
TEMPLATES = (("llama-3", "llama3"), ("llama3", "llama3"), ("deepllama", "llama3"), ("qwen", "qwen"),
             ("mistral", "mistral"), ("gemma", "gemma"), ("phi-3", "phi"))

DRIVER = '''"""Runs LLaMA-Factory on each stage's YAML in order (written by DeepOnes Studio)."""
import os, shutil, subprocess, sys

cli = shutil.which("llamafactory-cli", path=os.path.dirname(sys.executable)) or shutil.which("llamafactory-cli")
if cli is None:
    sys.exit("error: llamafactory-cli is not installed here: " + sys.executable + " -m pip install llamafactory")
for cfg in sys.argv[1:]:
    print("LLaMA-Factory stage " + cfg, flush=True)
    rc = subprocess.call([cli, "train", cfg])
    if rc:
        sys.exit(rc)
'''


def template_for(base: dict) -> str:
    name = (base.get("spec", "") + " " + base.get("path", "")).lower()
    return next((tpl for frag, tpl in TEMPLATES if frag in name), "default")


def _yaml(data: dict) -> str:
    """YAML without a YAML library: every value as JSON (JSON scalars and lists are YAML)."""
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in data.items())


def stage_config(run: dict, stage: dict, index: int, previous_output: str | None) -> dict:
    recipe, srec, lora = run["recipe"], stage["recipe"], run["recipe"]["lora"]
    targets = lora["target_modules"]
    cfg = {
        "model_name_or_path": run["base"]["path"],
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": lora["rank"],
        "lora_alpha": lora["alpha"],
        "lora_dropout": lora["dropout"],
        "lora_target": "all" if targets == ["all-linear"] else ",".join(targets),
        "dataset": Path(stage["file"]).stem,
        "dataset_dir": "data",
        "template": template_for(run["base"]),
        "cutoff_len": recipe["max_seq_len"],
        "overwrite_cache": True,
        "output_dir": f"output/stage{index + 1}_{stage['name']}",
        "logging_steps": 1,
        "save_steps": recipe["save_steps"],
        "plot_loss": True,
        "overwrite_output_dir": True,
        "report_to": "none",
        "per_device_train_batch_size": srec["batch_size"],
        "gradient_accumulation_steps": srec["grad_accum"],
        "learning_rate": recipe["learning_rate"],
        "num_train_epochs": float(srec["epochs"]),
        "lr_scheduler_type": recipe["schedule"],
        "warmup_ratio": recipe["warmup_ratio"],
        "bf16": True,
        "seed": recipe["seed"],
    }
    if lora.get("loraplus_lr_ratio"):
        cfg["loraplus_lr_ratio"] = float(lora["loraplus_lr_ratio"])
    if recipe["optimizer"] == "adam-mini":
        cfg["use_adam_mini"] = True
    if recipe.get("max_steps"):
        cfg["max_steps"] = recipe["max_steps"]
    if previous_output:
        cfg["adapter_name_or_path"] = previous_output
    return cfg


def job(run: dict, stages: list[dict]) -> tuple[dict[str, str], list[str]]:
    """The driver and one YAML per stage (the data files are added by the caller), and the job's argv."""
    files = {PROGRAM: DRIVER}
    previous = None
    names = []
    for i, stage in enumerate(stages):
        cfg = stage_config(run, stage, i, previous)
        name = f"llamafactory_stage{i + 1}.yaml"
        files[name] = _yaml(cfg)
        names.append(name)
        previous = cfg["output_dir"]
    return files, [PROGRAM, *names]
