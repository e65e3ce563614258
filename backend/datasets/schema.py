"""What a sample is: kinds, categories, curation statuses, and the normalised content hash."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

KINDS = ("instruction", "dlpd", "mcq")
INSTRUCTION_CATEGORIES = (
    "description generation",
    "combination prediction",
    "property prediction",
    "reasoning",
    "mathematical expression",
    "name guessing",
    "miscellaneous",
)
DLPD_CATEGORIES = (
    "requirement-based proposal",
    "property-based improvement",
    "hyperparameter prediction",
)
CATEGORIES = INSTRUCTION_CATEGORIES + DLPD_CATEGORIES
STATUSES = ("unreviewed", "accepted", "rejected", "needs-fix")
OPTION_LETTERS = ("A", "B", "C", "D", "E")

# Text fields a curator may edit inline (each edit is recorded in sample_edits).
EDITABLE_FIELDS = ("instruction", "input", "output", "category", "kind", "answer", "system")

# Guards against a runaway field bloating the store; real answers are a few hundred words.
MAX_FIELD_CHARS = 1_000_000


class RecordError(ValueError):
    """A record that cannot become a sample; ``str(exc)`` is the reason shown to the user."""


@dataclass
class Sample:
    kind: str
    instruction: str
    output: str
    category: str = ""
    input: str = ""
    system: str | None = None
    history: list | None = None     # [[user, assistant], ...]
    options: dict | None = None     # {"A": ..., ...} for mcq
    answer: str | None = None       # letter for mcq
    extra: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        return content_hash(self)


_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: cosmetic differences don't make a new sample."""
    if not text.isascii():  # ASCII is already NFKC; skipping the call is a measurable import speed-up
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())


def merged_prompt(instruction: str, input_: str) -> str:
    """Instruction and input as one prompt: how chat formats (ShareGPT, OpenAI) carry them."""
    return "\n\n".join(part for part in (instruction, input_) if part)


def content_hash(sample: Sample) -> str:
    # Prompt = instruction + input merged, so a sample that went through a chat format
    # (where the two are one message) hashes the same as the original.
    parts = [
        sample.kind,
        normalise_text(merged_prompt(sample.instruction, sample.input)),
        normalise_text(sample.output),
        normalise_text(sample.system) if sample.system else "",
        normalise_text(json.dumps(sample.history, ensure_ascii=False)) if sample.history else "[]",
        normalise_text(json.dumps(sample.options, ensure_ascii=False, sort_keys=True)) if sample.options else "{}",
        (sample.answer or "").upper(),
    ]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


@lru_cache(maxsize=4096)
def _canonical_category(value: str) -> str:
    return canonical_category(value)


def canonical_category(value: object) -> str:
    """'Description_Generation' / 'description-generation' -> 'description generation'."""
    if not isinstance(value, str):
        return ""
    text = _WS.sub(" ", value.replace("_", " ").strip().lower())
    for cat in CATEGORIES:
        if text == cat or text.replace("-", " ") == cat.replace("-", " "):
            return cat
    aliases = {
        "math": "mathematical expression", "mathematical": "mathematical expression",
        "description": "description generation", "combination": "combination prediction",
        "property": "property prediction", "name guess": "name guessing", "misc": "miscellaneous",
        "architecture proposal": "requirement-based proposal", "proposal": "requirement-based proposal",
        "improvement": "property-based improvement", "hyperparameter": "hyperparameter prediction",
        "hyperparameters": "hyperparameter prediction",
    }
    return aliases.get(text, text)


_DLPD_PATTERNS = (
    (re.compile(r"\bwhat would be the (model|architecture)\b", re.I), "requirement-based proposal"),
    (re.compile(r"\bwhat would be the (block|module|component)\b", re.I), "property-based improvement"),
    (re.compile(r"\brecommended (learning rate|batch size|weight decay|number of epochs|optimizer|dropout)",
                re.I), "hyperparameter prediction"),
)


def infer_kind_category(instruction: str) -> tuple[str, str]:
    """Best guess for records that carry no kind: DLPD questions have tell-tale openings."""
    for pattern, category in _DLPD_PATTERNS:
        if pattern.search(instruction[:400]):
            return "dlpd", category
    return "instruction", ""


def canonical_kind(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    text = value.strip().lower()
    aliases = {"deepqa": "mcq", "qa": "mcq", "multiple choice": "mcq", "multiple-choice": "mcq"}
    text = aliases.get(text, text)
    if text not in KINDS:
        raise RecordError(f"unknown kind {value!r} (expected one of {', '.join(KINDS)})")
    return text


def check_sizes(sample: Sample) -> None:
    for name in ("instruction", "input", "output", "system"):
        value = getattr(sample, name) or ""
        if len(value) > MAX_FIELD_CHARS:
            raise RecordError(
                f"field '{name}' is {len(value) / 1e6:.1f} M characters; the limit is {MAX_FIELD_CHARS / 1e6:.0f} M"
            )
