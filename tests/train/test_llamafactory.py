"""The LLaMA-Factory path: the job's YAMLs and dataset files.

Where ``llamafactory`` is installed, its own argument parsing (``get_train_args``) checks every
YAML. Otherwise the files are checked against the schema its docs describe: the keys of its
``examples/train_lora/*.yaml`` and ``data/README.md`` (dataset_info entries with ``file_name``,
``formatting`` and ``columns``, Alpaca records with the named columns).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.train.conftest import needs_training

# Arguments LLaMA-Factory documents for LoRA SFT (ModelArguments, DataArguments, FinetuningArguments,
# Seq2SeqTrainingArguments) that a recipe maps to.
DOCUMENTED_KEYS = {
    "model_name_or_path", "adapter_name_or_path", "stage", "do_train", "finetuning_type", "lora_rank",
    "lora_alpha", "lora_dropout", "lora_target", "loraplus_lr_ratio", "use_adam_mini", "dataset",
    "dataset_dir", "template", "cutoff_len", "overwrite_cache", "output_dir", "logging_steps", "save_steps",
    "plot_loss", "overwrite_output_dir", "report_to", "per_device_train_batch_size",
    "gradient_accumulation_steps", "learning_rate", "num_train_epochs", "lr_scheduler_type", "warmup_ratio",
    "bf16", "seed", "max_steps",
}
ALPACA_COLUMNS = {"prompt", "query", "response", "system", "history"}


def tiny_llama(folder: Path | None = None) -> Path:
    """A real (random, tiny) LlamaForCausalLM checkpoint folder with SmolLM2's tokenizer (one per session)."""
    import os

    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from backend.llm.embedded import embedded_model_path

    folder = folder or Path(os.environ["DEEPONES_TRAIN_CACHE"]).parent / "tiny-llama"
    if (folder / "config.json").exists():
        return folder
    cached = sorted(Path(os.environ["DEEPONES_TRAIN_CACHE"]).glob("*/tokenizer.json"))
    if cached:  # the float copy the trainer wrote: its tokenizer loads in a second, not half a minute
        tok = AutoTokenizer.from_pretrained(str(cached[0].parent))
    else:
        gguf = embedded_model_path()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def _yaml(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


@needs_training
def test_written_yaml_and_datasets_match_llamafactory(demo_store, deepones_home, tmp_path, monkeypatch):
    from backend.train import launch
    from backend.train.recipe import paper_recipe
    from backend.train.runs import get_run

    base = tiny_llama()
    recipe = paper_recipe()
    recipe.trainer = "llamafactory"
    recipe.max_steps = 3
    monkeypatch.setattr(launch, "check_environment", lambda *_a: None)  # llamafactory-cli need not be here
    prepared = launch.prepare_run(demo_store, base=str(base), data_source="all", recipe=recipe, root=deepones_home)
    spec = launch.job_spec(get_run(demo_store, prepared.run_id))
    assert spec.argv == ["run_llamafactory.py", "llamafactory_stage1.yaml", "llamafactory_stage2.yaml"]
    job = tmp_path / "job"
    for rel, text in spec.files.items():
        (job / rel).parent.mkdir(parents=True, exist_ok=True)
        (job / rel).write_text(text)
    stage1, stage2 = (_yaml((job / name).read_text()) for name in spec.argv[1:])
    for cfg in (stage1, stage2):
        assert set(cfg) <= DOCUMENTED_KEYS, set(cfg) - DOCUMENTED_KEYS
        assert cfg["stage"] == "sft" and cfg["finetuning_type"] == "lora" and cfg["do_train"] is True
        assert cfg["model_name_or_path"] == str(base.resolve())
        assert (cfg["learning_rate"], cfg["lr_scheduler_type"], cfg["warmup_ratio"]) == (3e-4, "cosine", 0.01)
        assert cfg["use_adam_mini"] is True and cfg["loraplus_lr_ratio"] == 16.0 and cfg["lora_target"] == "all"
        assert cfg["max_steps"] == 3
    assert (stage1["per_device_train_batch_size"], stage2["per_device_train_batch_size"]) == (16, 4)
    assert stage2["adapter_name_or_path"] == stage1["output_dir"]   # stage 2 continues the stage-1 adapter
    info = json.loads((job / stage1["dataset_dir"] / "dataset_info.json").read_text())
    for cfg in (stage1, stage2):
        entry = info[cfg["dataset"]]
        assert entry["formatting"] == "alpaca" and set(entry["columns"]) <= ALPACA_COLUMNS
        records = json.loads((job / cfg["dataset_dir"] / entry["file_name"]).read_text())
        assert records
        for rec in records:
            assert rec[entry["columns"]["prompt"]] and rec[entry["columns"]["response"]]
    dlpd = json.loads((job / "data" / info[stage2["dataset"]]["file_name"]).read_text())
    assert any(r["kind"] == "instruction" for r in dlpd)    # the replayed share
    if importlib.util.find_spec("llamafactory") is not None:  # its own parser, where it is installed
        from llamafactory.hparams import get_train_args

        for cfg in (stage1, stage2):
            get_train_args({**cfg, "output_dir": str(job / cfg["output_dir"]), "dataset_dir": str(job / "data")})
