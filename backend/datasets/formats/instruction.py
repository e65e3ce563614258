"""DeepData-style and Alpaca records: instruction / input / output (+ system, history, kind, category)."""

from __future__ import annotations

import json

from backend.datasets.formats.base import (
    DataFormat,
    kind_and_category,
    mcq_from_extras,
    parse_history,
    rich,
    row_extras,
    split_known,
    text_field,
)
from backend.datasets.formats.conversation import (
    ExportRefused,
    content_text,
    parse_preference,
    parse_tools,
    side_for,
    tool_functions,
)
from backend.datasets.schema import RecordError, Sample

KNOWN_KEYS = {"instruction", "prompt", "input", "query", "output", "response", "system", "history", "tools",
              "chosen", "rejected", "kto_tag", "kind", "type", "category", "options", "answer", "question",
              "_question"}


def _text_side(value, index: int, field: str) -> dict:
    if not isinstance(value, str):
        raise RecordError(f"'{field}' of an Alpaca preference record must be text")
    return {"role": "assistant", "content": value}


def _instruction_sample(record: dict) -> Sample:
    instruction = text_field(record, "instruction", required=True, aliases=("prompt",))
    input_ = text_field(record, "input", aliases=("query",))
    kind, category = kind_and_category(record, instruction)
    if kind == "mcq":
        sample = mcq_from_extras({**record, "question": instruction}, category)
        if sample is None:
            raise RecordError("an MCQ record needs 'options' and 'answer'")
        return sample
    preference = parse_preference(record, _text_side)
    if preference and "chosen" in preference:
        output = preference["chosen"]["content"]
        if not output.strip():
            raise RecordError("field 'chosen' is empty")
    else:
        output = text_field(record, "output", required=True, aliases=("response",))
    if not instruction.strip():
        raise RecordError("field 'instruction' is empty")
    if not output.strip():
        raise RecordError("field 'output' is empty")
    system = text_field(record, "system") or None
    extra, omit = split_known(record, KNOWN_KEYS)
    if "input" not in record and "query" not in record:
        omit.append("input")
    layout: dict = {"omit": omit} if omit else {}
    if isinstance(record.get("tools"), str) and record["tools"]:
        layout["tools_raw"] = record["tools"]
    return Sample(kind=kind, category=category, instruction=instruction, input=input_, output=output,
                  system=system, history=parse_history(record.get("history")), extra=extra,
                  tools=parse_tools(record.get("tools")), preference=preference, layout=layout)


def alpaca_refusal(row: dict) -> str | None:
    """Why Alpaca cannot hold this sample (None when it can): it has no turns for tool calls,
    tool results, non-text content or per-turn fields."""
    for message in rich(row).get("messages") or ():
        if message.get("tool_calls") or message["role"] == "tool":
            return "tool calls and tool results have no place in Alpaca (use ShareGPT or OpenAI)"
        if set(k for k in message if not k.startswith("_")) - {"role", "content"}:
            return "turns carry fields Alpaca cannot hold (use ShareGPT or OpenAI)"
        if isinstance(message.get("content"), list) and any(
                isinstance(p, dict) and p.get("type", "text") != "text" for p in message["content"]):
            return "non-text content parts (images, audio) have no place in Alpaca"
    return None


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
        reason = alpaca_refusal(row)
        if reason:
            raise ExportRefused(reason)
        extra = rich(row)
        layout = extra.get("layout", {})
        messages = extra.get("messages")
        out: dict = {"instruction": row["instruction"]}
        if row["input"] or "input" not in layout.get("omit", ()):
            out["input"] = row["input"]
        pref = extra.get("preference") or {}
        if "chosen" in pref:
            out["chosen"] = side_for("alpaca", pref["chosen"], "text")
            out["rejected"] = side_for("alpaca", pref["rejected"], "text")
        else:
            out["output"] = row["output"]
        if "kto_tag" in pref:
            out["kto_tag"] = pref["kto_tag"]
        if row.get("system"):
            out["system"] = row["system"]
        history = json.loads(row["history"]) if row.get("history") else _history_of(messages)
        if history:
            out["history"] = history
        if extra.get("tools"):
            out["tools"] = layout.get("tools_raw") or json.dumps(tool_functions(extra["tools"]), ensure_ascii=False)
        out.update(row_extras(row))
        return out


def _history_of(messages: list[dict] | None) -> list[list[str]]:
    """[user, assistant] pairs before the last user turn of a stored conversation (text parts joined)."""
    if not messages:
        return []
    body = [m for m in messages if m["role"] not in ("system", "developer")]
    last_user = max(i for i, m in enumerate(body) if m["role"] == "user")
    return [[content_text(body[i].get("content"), "turn"), content_text(body[i + 1].get("content"), "turn")]
            for i in range(0, last_user - 1, 2)]
