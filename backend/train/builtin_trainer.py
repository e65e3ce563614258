"""The built-in trainer: LoRA fine-tuning with ``transformers`` + ``peft`` + ``torch``, run as a job.

This file is copied into the job folder and run by the job's interpreter (the execution
environment, which may be another Python with CUDA torch), so it imports nothing from the app:
only the standard library, torch, transformers, peft (and adam-mini when installed).

    python train_program.py run.json

``run.json`` holds the base model, the recipe and the stage files. Each optimiser step prints
one JSON line (``step``, ``loss``, ``learning_rate``, ``grad_norm``, ``tokens_per_s``,
``eta_s``) that the Jobs log parsers chart. Loss is computed on the answer tokens only; prompts
go through the base model's chat template. A checkpoint (adapter + optimiser + scheduler +
position) is written every ``save_steps``, at every stage end and when the job is cancelled
(SIGTERM), so a stopped run resumes where it was. At the end the adapter is merged into the base
and saved as a Hugging Face folder (``merged/``); ``result.json`` sums the run up.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

STOP = {"requested": False}
IGNORE = -100


def log(msg: str) -> None:
    print(msg, flush=True)


def metric(**values) -> None:
    print(json.dumps(values), flush=True)


def load_base(base: dict, device: str, dtype):
    """Model and tokenizer of a HF folder, a cached hub id, or a GGUF file (de-quantised to float)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = Path(base["cache"]) if base.get("cache") else None
    if base["kind"] == "gguf" and cache is not None and (cache / "config.json").is_file():
        # De-quantising a GGUF takes ~19 s for SmolLM2 on 2 cores; the float copy loads in ~1 s.
        tok = AutoTokenizer.from_pretrained(str(cache))
        model = AutoModelForCausalLM.from_pretrained(str(cache), dtype=dtype)
    elif base["kind"] == "gguf":
        folder, name = os.path.dirname(base["path"]), os.path.basename(base["path"])
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype)
        # A model loaded from a GGUF carries a quantiser that cannot be serialised: saving fails
        # until it is cleared (measured), and it is no use after de-quantisation anyway.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        if cache is not None:
            save_base_cache(model, tok, cache)
    else:
        local = base.get("local_files_only", True)
        tok = AutoTokenizer.from_pretrained(base["path"], local_files_only=local)
        model = AutoModelForCausalLM.from_pretrained(base["path"], dtype=dtype, local_files_only=local)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model.to(device), tok


def save_base_cache(model, tok, cache: Path) -> None:
    """Keep the de-quantised base as a float folder for the next run (written whole, then renamed)."""
    tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tok.save_pretrained(str(tmp))
        tmp.rename(cache)
    except OSError as exc:  # another run wrote it first, or no space: training goes on without it
        log(f"base cache not written ({exc})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def encode(tok, rec: dict, max_len: int) -> dict | None:
    """Chat-template the prompt, append the answer; labels mask everything but the answer tokens."""
    messages = []
    if rec.get("system"):
        messages.append({"role": "system", "content": rec["system"]})
    for user, assistant in rec.get("history") or []:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    prompt = rec["instruction"] + (("\n\n" + rec["input"]) if rec.get("input") else "")
    messages.append({"role": "user", "content": prompt})
    if getattr(tok, "chat_template", None):
        prompt_ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if isinstance(prompt_ids, dict) or hasattr(prompt_ids, "input_ids"):
            prompt_ids = prompt_ids["input_ids"]
    else:  # a base model without a template: plain "prompt\n" then the answer
        prompt_ids = tok("\n".join(m["content"] for m in messages) + "\n", add_special_tokens=True)["input_ids"]
    answer_ids = tok(rec["output"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids = (list(prompt_ids) + answer_ids)[:max_len]
    labels = ([IGNORE] * len(prompt_ids) + answer_ids)[:max_len]
    if all(x == IGNORE for x in labels):
        return None  # the prompt alone fills the window: nothing to learn from
    return {"input_ids": ids, "labels": labels}


def collate(batch: list[dict], pad_id: int):
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return ids, labels, mask


def stage_batches(examples: list[dict], batch_size: int, epochs: float, seed: int, fixed: bool) -> list[list[int]]:
    """Batches (as example indices) for the whole stage, epoch by epoch with a seeded shuffle each."""
    out: list[list[int]] = []
    n = len(examples)
    per_epoch = math.ceil(n / batch_size)
    total = max(1, math.ceil(per_epoch * epochs))
    epoch = 0
    while len(out) < total:
        order = list(range(n))
        if not fixed:
            random.Random(seed + epoch).shuffle(order)
        out += [order[i:i + batch_size] for i in range(0, n, batch_size)]
        epoch += 1
    if fixed:
        return [out[0]] * total
    return out[:total]


def planned_steps(workdir: Path, stage: dict, recipe: dict) -> int:
    n = len(json.loads((workdir / stage["file"]).read_text("utf-8")))
    srec = stage["recipe"]
    steps = math.ceil(max(1, math.ceil(math.ceil(n / srec["batch_size"]) * srec["epochs"])) / srec["grad_accum"])
    return min(steps, recipe["max_steps"]) if recipe.get("max_steps") else steps


def make_optimizer(model, recipe: dict, lr: float):
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    ratio = recipe["lora"].get("loraplus_lr_ratio") or 0
    if recipe["optimizer"] == "adam-mini":
        try:
            from adam_mini import Adam_mini

            opt = Adam_mini(named_parameters=[(n, p) for n, p in model.named_parameters() if p.requires_grad],
                            lr=lr, weight_decay=0.0)
            return opt, "adam-mini"
        except ImportError:
            log("adam-mini is not installed here (pip install adam-mini) - using AdamW")
    if ratio:
        try:
            from peft.optimizers import create_loraplus_optimizer

            opt = create_loraplus_optimizer(model=model, optimizer_cls=torch.optim.AdamW, lr=lr,
                                            loraplus_lr_ratio=ratio, weight_decay=0.0)
            return opt, f"AdamW with LoRA+ (ratio {ratio:g})"
        except ImportError:
            log("this peft has no LoRA+ optimiser - plain AdamW")
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.0), "AdamW"


def make_schedule(opt, kind: str, total: int, warmup_ratio: float):
    import torch

    warmup = int(math.ceil(total * warmup_ratio)) if warmup_ratio else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        if kind == "linear":
            return max(0.0, 1 - progress)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def save_checkpoint(folder: Path, model, opt, sched, state: dict) -> None:
    """Adapter, optimiser, scheduler and position, written beside and then swapped in whole."""
    import torch

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp / "trainer_state.pt")
    (tmp / "position.json").write_text(json.dumps(state))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def on_sigterm(_signum, _frame) -> None:
    STOP["requested"] = True


def pick_device(wanted: str) -> tuple[str, object]:
    import torch

    if wanted in ("auto", "cuda") and torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return "cuda", torch.bfloat16 if bf16 else torch.float16
    return "cpu", torch.float32


def train(cfg: dict, workdir: Path) -> int:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    recipe = cfg["recipe"]
    random.seed(recipe["seed"])
    torch.manual_seed(recipe["seed"])
    device, dtype = pick_device(cfg.get("device", "auto"))
    ckpt = workdir / cfg.get("checkpoint_dir", "checkpoint")
    resume_from = Path(cfg["resume_from"]) if cfg.get("resume_from") else None
    started = time.perf_counter()
    log(f"Loading base model {cfg['base']['path']} on {device}")
    model, tok = load_base(cfg["base"], device, dtype)
    log(f"Base model loaded in {time.perf_counter() - started:.1f} s")
    position = {"stage": 0, "stage_step": 0, "global_step": 0, "loss_first": None, "loss_last": None, "tokens": 0}
    if resume_from and (resume_from / "position.json").exists():
        model = PeftModel.from_pretrained(model, str(resume_from), is_trainable=True)
        position = json.loads((resume_from / "position.json").read_text())
        log(f"Resuming from the checkpoint at step {position['global_step']}")
    else:
        lora = recipe["lora"]
        targets = lora["target_modules"]
        model = get_peft_model(model, LoraConfig(
            r=lora["rank"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], task_type="CAUSAL_LM",
            target_modules="all-linear" if targets == ["all-linear"] else targets))
    signal.signal(signal.SIGTERM, on_sigterm)
    stages = cfg["stages"]
    planned = [planned_steps(workdir, st, recipe) for st in stages]  # for the ETA over the whole run
    # Throughput of this job's optimiser steps only: loading, checkpoints and the merge are not training.
    job_tokens, step_s = 0, 0.0
    optimizers_used: list[str] = []   # what really ran (adam-mini falls back to AdamW when missing)
    for si, stage in enumerate(stages):
        if si < position["stage"]:
            continue
        srec = stage["recipe"]
        records = json.loads((workdir / stage["file"]).read_text("utf-8"))
        # Plain words (no colon): the Train page shows this line as the run's phase.
        log(f"Tokenising {len(records)} samples of stage {si + 1} of {len(stages)} ({stage['name']})")
        examples = [e for e in (encode(tok, r, recipe["max_seq_len"]) for r in records) if e]
        if not examples:
            log(f"Stage {stage['name']} has no usable samples; skipped")
            continue
        micro = srec["batch_size"]
        batches = stage_batches(examples, micro, srec["epochs"], recipe["seed"], recipe.get("fixed_batch", False))
        accum = srec["grad_accum"]
        total = math.ceil(len(batches) / accum)
        if recipe.get("max_steps"):
            total = min(total, recipe["max_steps"])
        lr = recipe["learning_rate"]
        opt, opt_name = make_optimizer(model, recipe, lr)
        if opt_name not in optimizers_used:
            optimizers_used.append(opt_name)
        sched = make_schedule(opt, recipe["schedule"], total, recipe["warmup_ratio"])
        resumed_here = si == position["stage"] and position["stage_step"] > 0
        if resumed_here and resume_from and (resume_from / "trainer_state.pt").exists():
            state = torch.load(resume_from / "trainer_state.pt", weights_only=False)
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
        start_step = position["stage_step"] if resumed_here else 0
        log(f"Stage {si + 1} of {len(stages)} - {stage['name']} - {len(examples)} samples, "
            f"{total} steps, batch {micro} x {accum}, {opt_name}")
        model.train()
        window_tokens, window_start = 0, time.perf_counter()
        for step in range(start_step, total):
            step_started = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss_sum, tokens = 0.0, 0
            for b in batches[step * accum:(step + 1) * accum] or [batches[-1]]:
                ids, labels, mask = collate([examples[i] for i in b], tok.pad_token_id)
                ids, labels, mask = ids.to(device), labels.to(device), mask.to(device)
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
                (out.loss / accum).backward()
                loss_sum += out.loss.item() / accum
                tokens += int(mask.sum())
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
            opt.step()
            sched.step()
            position["global_step"] += 1
            position["stage_step"] = step + 1
            position["tokens"] += tokens
            position["loss_last"] = loss_sum
            if position["loss_first"] is None:
                position["loss_first"] = loss_sum
            window_tokens += tokens
            job_tokens += tokens
            step_s += time.perf_counter() - step_started
            elapsed = time.perf_counter() - window_start
            rate = window_tokens / elapsed if elapsed > 0 else 0.0
            steps_left = total - step - 1 + sum(planned[si + 1:])
            eta = steps_left * elapsed / max(1, step + 1 - start_step)
            metric(step=position["global_step"], loss=round(loss_sum, 6), learning_rate=sched.get_last_lr()[0],
                   grad_norm=round(grad_norm, 6), tokens_per_s=round(rate, 2), eta_s=round(eta, 1),
                   steps_total=position["global_step"] + steps_left)
            last = step + 1 == total
            if STOP["requested"] or last or position["global_step"] % recipe["save_steps"] == 0:
                if last:
                    position["stage"], position["stage_step"] = si + 1, 0
                save_checkpoint(ckpt, model, opt, sched, position)
            if STOP["requested"]:
                log(f"Cancelled - checkpoint saved at step {position['global_step']}")
                return 143
    if position["global_step"] == 0:
        print(f"error: no sample fits in max_seq_len {recipe['max_seq_len']} tokens (the prompt alone fills it): "
              "raise the maximum sequence length", file=sys.stderr, flush=True)
        return 4
    if (workdir / "adapter").exists():
        shutil.rmtree(workdir / "adapter")
    model.save_pretrained(str(workdir / "adapter"))
    merged_dir = workdir / "merged"
    if cfg.get("merge", True):
        log("Merging the adapter into the base model")
        merged = model.merge_and_unload()
        merged.hf_quantizer = None
        if hasattr(merged.config, "quantization_config"):
            del merged.config.quantization_config
        tmp = workdir / "merged.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        merged.to("cpu").save_pretrained(str(tmp), safe_serialization=True)
        tok.save_pretrained(str(tmp))
        shutil.rmtree(merged_dir, ignore_errors=True)
        tmp.rename(merged_dir)
    result = {"steps": position["global_step"], "loss_first": position["loss_first"],
              "loss_last": position["loss_last"], "tokens": position["tokens"],
              "adapter_path": str(workdir / "adapter"),
              "merged_path": str(merged_dir) if merged_dir.exists() else None,
              "train_s": round(time.perf_counter() - started, 2), "optimizer": ", ".join(optimizers_used),
              "tokens_per_s": round(job_tokens / step_s, 2) if step_s > 0 else None}
    (workdir / "result.json").write_text(json.dumps(result, indent=1))
    # Plain words: a colon or '=' here would make the Jobs log parsers chart a bogus metric.
    log(f"Training done after {position['global_step']} steps, loss {position['loss_first']:.4f} to "
        f"{position['loss_last']:.4f}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: train_program.py run.json", file=sys.stderr)
        return 2
    path = Path(argv[0]).resolve()
    cfg = json.loads(path.read_text("utf-8"))
    missing = [m for m in ("torch", "transformers", "peft") if not _importable(m)]
    if missing:
        print(f"error: this Python ({sys.executable}) lacks {', '.join(missing)}: "
              f"pip install {' '.join(missing)}", file=sys.stderr)
        return 3
    torch_threads = cfg.get("torch_threads")
    if torch_threads:
        import torch

        torch.set_num_threads(int(torch_threads))
    return train(cfg, path.parent)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
