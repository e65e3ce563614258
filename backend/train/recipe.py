"""A training recipe: everything a run needs besides its data, with the paper's values as defaults.

DeepLlama (PAPER.md, section 5.1) is trained in two stages: instruction samples first, then DLPD
samples with 1% of the instruction samples replayed; 2 epochs each, learning rate 3e-4, cosine
decay, 1% warm-up, batch 16 then 4, Adam-mini, LoRA+ (through LLaMA-Factory). The LoRA values the
paper leaves open are LLaMA-Factory's defaults (rank 8, alpha 16, all linear layers), and LoRA+'s
ratio is the one its authors recommend (16). Every value is editable and stored with the run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from backend.errors import UserError

TRAINERS = ("builtin", "llamafactory")
OPTIMIZERS = ("adamw", "adam-mini")
SCHEDULES = ("cosine", "linear", "constant")
PAPER_RECIPE = "paper"


class RecipeError(UserError, ValueError):
    """A recipe value is out of range or a recipe file cannot be read; the message is for the user."""


@dataclass
class StageRecipe:
    name: str
    kinds: list[str]                  # sample kinds this stage trains on (instruction, dlpd)
    replay_from: str = ""             # an earlier stage whose samples are replayed here
    replay_share: float = 0.0         # share of that stage's samples replayed (0.01 = 1%)
    epochs: float = 2.0
    batch_size: int = 16
    grad_accum: int = 1


@dataclass
class LoraRecipe:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    loraplus_lr_ratio: float = 16.0   # 0 disables LoRA+; used when the installed peft supports it


@dataclass
class Recipe:
    stages: list[StageRecipe] = field(default_factory=lambda: [
        StageRecipe("instruction", ["instruction"], batch_size=16),
        StageRecipe("dlpd", ["dlpd"], replay_from="instruction", replay_share=0.01, batch_size=4),
    ])
    lora: LoraRecipe = field(default_factory=LoraRecipe)
    optimizer: str = "adam-mini"      # falls back to AdamW (said in the log) when adam-mini is missing
    learning_rate: float = 3e-4
    schedule: str = "cosine"
    warmup_ratio: float = 0.01
    max_seq_len: int = 2048
    seed: int = 42
    max_steps: int = 0                # per stage; 0 = no cap (epochs decide)
    save_steps: int = 50              # checkpoint every N optimizer steps (and at every stage end)
    fixed_batch: bool = False         # repeat the first batch every step (a smoke test of the loss going down)
    trainer: str = "builtin"

    def validate(self) -> Recipe:
        if not self.stages:
            raise RecipeError("the recipe has no stages")
        names = [s.name for s in self.stages]
        for i, st in enumerate(self.stages):
            if not st.kinds:
                raise RecipeError(f"stage {st.name!r} trains on no sample kind")
            if st.replay_from and st.replay_from not in names[:i]:
                raise RecipeError(f"stage {st.name!r} replays {st.replay_from!r}, which is not an earlier stage")
            if not 0 <= st.replay_share <= 1:
                raise RecipeError(f"stage {st.name!r}: replay share must be between 0 and 1")
            if st.epochs <= 0 or st.batch_size < 1 or st.grad_accum < 1:
                raise RecipeError(f"stage {st.name!r}: epochs, batch size and accumulation must be positive")
        if self.lora.rank < 1 or self.lora.alpha < 1 or not 0 <= self.lora.dropout < 1:
            raise RecipeError("LoRA rank and alpha must be >= 1 and dropout in [0, 1)")
        if self.optimizer not in OPTIMIZERS:
            raise RecipeError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise RecipeError(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.trainer not in TRAINERS:
            raise RecipeError(f"trainer must be one of {', '.join(TRAINERS)}")
        if not 0 < self.learning_rate < 1 or not 0 <= self.warmup_ratio < 1:
            raise RecipeError("learning rate must be in (0, 1) and warm-up ratio in [0, 1)")
        if self.max_seq_len < 8 or self.max_steps < 0 or self.save_steps < 1:
            raise RecipeError("max sequence length must be >= 8, max steps >= 0 and save steps >= 1")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Recipe:
        if not isinstance(raw, dict):
            raise RecipeError("a recipe must be a mapping of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise RecipeError(f"unknown recipe setting(s): {', '.join(unknown)}")
        data = dict(raw)
        try:
            if "stages" in data:
                data["stages"] = [StageRecipe(**s) for s in data["stages"]]
            if "lora" in data:
                data["lora"] = LoraRecipe(**data["lora"])
            return cls(**data).validate()
        except TypeError as exc:
            raise RecipeError(f"bad recipe: {exc}") from exc


def paper_recipe() -> Recipe:
    return Recipe()


def load_recipe(source: str | Path | None) -> Recipe:
    """``paper`` (or nothing) -> the paper's recipe; a ``.json`` or ``.yaml`` file -> that recipe,
    missing values taken from the paper's."""
    if source in (None, "", PAPER_RECIPE):
        return paper_recipe()
    path = Path(source)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise RecipeError("reading a YAML recipe needs PyYAML (pip install pyyaml); or use JSON") from exc
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise RecipeError(f"{path} is not valid YAML: {exc}") from exc
    else:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise RecipeError(f"{path} is not valid JSON: {exc}") from exc
    return Recipe.from_dict(raw)
