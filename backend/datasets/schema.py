"""What a sample is: kinds, categories, curation statuses, and the normalised content hash."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from backend.errors import UserError

try:  # the rich parts are serialised for every such record on import: orjson is ~5x faster
    import orjson

    def _dumps(value, *, sort_keys: bool = False) -> str:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
except ImportError:  # pragma: no cover - orjson is a declared dependency
    def _dumps(value, *, sort_keys: bool = False) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"))

# "text": plain pretraining records ({"text": ...}), kept as their own kind.
KINDS = ("instruction", "dlpd", "mcq", "text")
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
# "generated": written by Generate (backend.generate) and waiting for review: a queue of its own,
# apart from imported samples nobody has looked at yet ("unreviewed").
STATUSES = ("unreviewed", "accepted", "rejected", "needs-fix", "generated")
OPTION_LETTERS = ("A", "B", "C", "D", "E")

# Text fields a curator may edit inline (each edit is recorded in sample_edits).
EDITABLE_FIELDS = ("instruction", "input", "output", "category", "kind", "answer", "system")

# Traits: what a sample carries beyond one exchange, as bits of samples.traits, so the table and the
# facets filter on them with one integer test (no JSON parsing at millions of rows).
TRAIT_TOOLS = 1        # tool definitions, tool calls or tool results
TRAIT_PREFERENCE = 2   # chosen/rejected pair or a KTO label
TRAIT_MULTI_TURN = 4   # more than one user turn
TRAIT_TOOL_TURNS = 8   # tool calls / tool results among the turns (formats without them cannot hold it)
TRAITS = (("has tools", TRAIT_TOOLS), ("preference", TRAIT_PREFERENCE), ("multi-turn", TRAIT_MULTI_TURN))

# Guards against a runaway field bloating the store; real answers are a few hundred words.
MAX_FIELD_CHARS = 1_000_000


class RecordError(UserError, ValueError):
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
    extra: dict = field(default_factory=dict)   # unknown top-level fields, kept verbatim and exported back
    #: the full conversation (canonical OpenAI-style messages) when the fields above cannot rebuild it:
    #: tool calls, tool results, content parts, per-message fields, system turns in place
    messages: list | None = None
    tools: list | None = None          # tool (function) definitions
    preference: dict | None = None     # {"chosen": msg, "rejected": msg, "shape": ...} or {"kto_tag": bool}
    #: how the source laid itself out where the default export would differ (e.g. no 'input' key)
    layout: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        return content_hash(self)

    @property
    def traits(self) -> int:
        bits = 0
        tool_turns = any(m.get("role") == "tool" or m.get("tool_calls") for m in self.messages or ())
        if self.tools or tool_turns:
            bits |= TRAIT_TOOLS
        if tool_turns:
            bits |= TRAIT_TOOL_TURNS
        if self.preference:
            bits |= TRAIT_PREFERENCE
        users = sum(1 for m in self.messages if m.get("role") == "user") if self.messages else \
            1 + len(self.history or ())
        if users > 1:
            bits |= TRAIT_MULTI_TURN
        return bits

    def record_json(self) -> str | None:
        """What the legacy columns cannot hold, as one JSON object (None when there is nothing)."""
        rich = {k: v for k, v in (("messages", self.messages), ("tools", self.tools),
                                   ("preference", self.preference), ("extra", self.extra),
                                   ("layout", self.layout)) if v}
        return _dumps(rich) if rich else None


_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: cosmetic differences don't make a new sample."""
    if text.isascii():  # already NFKC, and casefold() is lower(): skipping work per record speeds imports
        # The ASCII separators str.split() splits on besides " ", each looked for with a memchr-speed
        # `in` (~0.6 us per 1.4 KB answer, where isprintable() took ~4 us and a regex ~14 us).
        if ("\n" in text or "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text
                or "\x1c" in text or "\x1d" in text or "\x1e" in text or "\x1f" in text
                or text[:1] == " " or text[-1:] == " " or "  " in text):
            return " ".join(text.lower().split())
        return text.lower()  # nothing to collapse: no split into hundreds of words and join back
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


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
    # Everything else the record carries: appended only when present, so plain samples keep the
    # hashes they always had (a re-import of an old export still folds), and records that differ
    # only in a tool call, a tool definition or a preference side do not.
    for name in ("messages", "tools", "preference", "extra"):
        value = getattr(sample, name)
        if value:
            parts.append(f"{name}=" + normalise_text(_dumps(value, sort_keys=True)))
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
        # The paper's own labels (Figure 6 and its data tables).
        "mathematical expressions": "mathematical expression", "others": "miscellaneous",
        "other": "miscellaneous", "application prediction": "miscellaneous", "score": "miscellaneous",
        "requirement-based architecture proposal": "requirement-based proposal",
        "property-based architecture improvement": "property-based improvement",
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
