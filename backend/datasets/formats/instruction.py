"""DeepData-style and Alpaca records: instruction / input / output (+ system, history, kind, category)."""

from __future__ import annotations

import json

from backend.datasets.formats.base import (
    DataFormat,
    kind_and_category,
    mcq_from_extras,
    parse_history,
    row_extras,
    text_field,
)
from backend.datasets.schema import RecordError, Sample


def _instruction_sample(record: dict) -> Sample:
    instruction = text_field(record, "instruction", required=True, aliases=("prompt",))
    input_ = text_field(record, "input", aliases=("query",))
    kind, category = kind_and_category(record, instruction)
    if kind == "mcq":
        sample = mcq_from_extras({**record, "question": instruction}, category)
        if sample is None:
            raise RecordError("an MCQ record needs 'options' and 'answer'")
        return sample
    output = text_field(record, "output", required=True, aliases=("response",))
    if not instruction.strip():
        raise RecordError("field 'instruction' is empty")
    if not output.strip():
        raise RecordError("field 'output' is empty")
    system = text_field(record, "system") or None
    return Sample(kind=kind, category=category, instruction=instruction, input=input_, output=output,
                  system=system, history=parse_history(record.get("history")))


class DeepDataFormat(DataFormat):
    name = "deepdata"
    label = "DeepData JSON/JSONL (instruction, input, output, kind, category)"

    def matches(self, record: dict) -> bool:
        return "instruction" in record and ("kind" in record or "category" in record)

    def parse(self, record: dict) -> Sample:
        return _instruction_sample(record)

    def export(self, row: dict) -> dict:
        out = {"instruction": row["instruction"], "input": row["input"], "output": row["output"]}
        out.update(row_extras(row))
        return out


class AlpacaFormat(DataFormat):
    name = "alpaca"
    label = "Alpaca (instruction, input, output, system, history)"
    export_layouts = ("json", "jsonl")
    dataset_info = {
        "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output",
                    "system": "system", "history": "history"},
    }

    def matches(self, record: dict) -> bool:
        return "instruction" in record and ("output" in record or "response" in record)

    def parse(self, record: dict) -> Sample:
        return _instruction_sample(record)

    def export(self, row: dict) -> dict:
        out: dict = {"instruction": row["instruction"], "input": row["input"], "output": row["output"]}
        if row.get("system"):
            out["system"] = row["system"]
        if row.get("history"):
            out["history"] = json.loads(row["history"])
        out.update(row_extras(row))
        return out
