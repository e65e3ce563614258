"""The record-format interface: recognise a record, turn it into a Sample, and write one back.

Containers (JSONL, JSON array, Parquet, a hub repo) are read elsewhere and yield plain dicts;
a format only deals with one record at a time, so every container works with every format.
"""

from __future__ import annotations

import json
from typing import Any

from backend.datasets.schema import (
    OPTION_LETTERS,
    RecordError,
    Sample,
    _canonical_category,
    canonical_kind,
    infer_kind_category,
)


class DataFormat:
    name: str = ""
    label: str = ""
    #: file layouts this format can be exported as: "json" (array) and/or "jsonl"
    export_layouts: tuple[str, ...] = ()
    #: LLaMA-Factory dataset_info.json entry (without file_name), or None
    dataset_info: dict | None = None

    def matches(self, record: dict) -> bool:
        """Does this record look like this format? Used for auto-detection."""
        raise NotImplementedError

    def parse(self, record: dict) -> Sample:
        """The sample for ``record``; raise RecordError with a clear reason otherwise."""
        raise NotImplementedError

    def export(self, row: dict) -> dict:
        """One output record for a store row (a dict of the samples table's columns)."""
        raise NotImplementedError


def text_field(record: dict, key: str, *, required: bool = False, aliases: tuple[str, ...] = ()) -> str:
    for name in (key, *aliases):
        if name in record and record[name] is not None:
            value = record[name]
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            raise RecordError(f"field '{name}' must be text, not {type(value).__name__}")
    if required:
        raise RecordError(f"missing required field '{key}'")
    return ""


def kind_and_category(record: dict, prompt: str, default_kind: str = "instruction") -> tuple[str, str]:
    kind = canonical_kind(record.get("kind") or record.get("type"))
    raw = record.get("category")
    category = _canonical_category(raw) if isinstance(raw, str) else ""
    if not kind:
        guessed_kind, guessed_cat = infer_kind_category(prompt)
        kind = guessed_kind if guessed_kind != "instruction" else default_kind
        category = category or guessed_cat
    return kind, category


def parse_history(value: Any) -> list | None:
    """Alpaca history: [[user, assistant], ...]; anything else is a clear error."""
    if value is None or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise RecordError("field 'history' is not a list of [user, assistant] pairs") from exc
    if not isinstance(value, list) or not all(
        isinstance(turn, (list, tuple)) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
        for turn in value
    ):
        raise RecordError("field 'history' is not a list of [user, assistant] pairs")
    return [list(turn) for turn in value] or None


# -- multiple choice, shared by the MCQ format and by MCQs exported in other formats ---------------

def parse_options(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise RecordError("field 'options' must be a list or an A-E dict") from exc
    if isinstance(value, (list, tuple)):
        if not 2 <= len(value) <= len(OPTION_LETTERS):
            raise RecordError(f"an MCQ needs 2-5 options, got {len(value)}")
        options = {OPTION_LETTERS[i]: str(v) for i, v in enumerate(value)}
    elif isinstance(value, dict):
        options = {str(k).strip().upper().rstrip(".)"): str(v) for k, v in value.items()}
        if not options or not set(options) <= set(OPTION_LETTERS) or len(options) < 2:
            raise RecordError("field 'options' must have keys among A-E")
        options = {k: options[k] for k in OPTION_LETTERS if k in options}
    else:
        raise RecordError("field 'options' must be a list or an A-E dict")
    for letter, text in list(options.items()):
        # "A. ResNet" inside a list: keep the text only.
        if text[:2].upper() in (f"{letter}.", f"{letter})"):
            options[letter] = text[2:].strip()
    return options


def parse_answer(value: Any, options: dict[str, str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError("missing required field 'answer'")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(options):
        return list(options)[value]
    text = str(value).strip()
    letter = text[0].upper()
    if letter in options and (len(text) == 1 or text[1] in ".): "):
        return letter
    for key, option in options.items():  # answer given as the option's text
        if option.strip().casefold() == text.casefold():
            return key
    raise RecordError(f"answer {text[:40]!r} is not one of the options {', '.join(options)}")


def format_options(options: dict[str, str]) -> str:
    return "\n".join(f"{k}. {v}" for k, v in options.items())


def mcq_sample(question: str, options_value: Any, answer_value: Any, category: str) -> Sample:
    if not question.strip():
        raise RecordError("missing required field 'question'")
    options = parse_options(options_value)
    answer = parse_answer(answer_value, options)
    return Sample(
        kind="mcq",
        category=category,
        instruction=question,
        input=format_options(options),
        output=f"{answer}. {options[answer]}",
        options=options,
        answer=answer,
    )


def rich(row: dict) -> dict:
    """The parts of a stored sample beyond the legacy columns (messages, tools, preference, extra, layout)."""
    value = row.get("record")
    return json.loads(value) if value else {}


def row_extras(row: dict) -> dict:
    """Keys every export carries beyond the training fields, so re-import gives the same samples:
    kind and category (unless the source had none), MCQ options, and unknown fields kept verbatim.

    LLaMA-Factory reads only the columns named in dataset_info.json and ignores these.
    """
    extra = rich(row)
    omit = set(extra.get("layout", {}).get("omit", ()))
    extras: dict = {}
    for key in ("kind", "category"):
        if key not in omit or row["kind"] == "mcq":
            extras[key] = row[key]
    if row["kind"] == "mcq" and row.get("options"):
        extras["options"] = json.loads(row["options"])
        extras["answer"] = row["answer"]
    extras.update(extra.get("extra", {}))
    return extras


def sample_row(sample: Sample) -> dict:
    """A sample as the store row the exporters read (what a round trip through the store gives)."""
    return {"kind": sample.kind, "category": sample.category, "instruction": sample.instruction,
            "input": sample.input, "output": sample.output, "system": sample.system,
            "history": json.dumps(sample.history, ensure_ascii=False) if sample.history else None,
            "options": json.dumps(sample.options, ensure_ascii=False) if sample.options else None,
            "answer": sample.answer, "record": sample.record_json()}


def split_known(record: dict, known: set[str]) -> tuple[dict, list[str]]:
    """(unknown top-level fields kept verbatim, default keys the record lacks)."""
    extra = {k: v for k, v in record.items() if k not in known}
    omit = [k for k in ("kind", "category") if k not in record and not (k == "kind" and "type" in record)]
    return extra, omit


def mcq_from_extras(record: dict, category: str) -> Sample | None:
    """An MCQ exported through a chat/alpaca format carries 'options' and 'answer': rebuild it."""
    if "options" in record and "answer" in record:
        question = text_field(record, "question") or record.get("_question", "")
        return mcq_sample(question, record["options"], record["answer"], category)
    return None
