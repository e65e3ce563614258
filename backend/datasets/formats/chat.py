"""Conversation records: ShareGPT (`conversations` of from/value) and OpenAI `messages` (role/content).

The last user/assistant exchange is the sample; earlier exchanges become its history, a system
turn its system prompt.
"""

from __future__ import annotations

import json

from backend.datasets.formats.base import (
    DataFormat,
    format_options,
    kind_and_category,
    mcq_sample,
    parse_options,
    row_extras,
)
from backend.datasets.schema import RecordError, Sample, merged_prompt

USER_ROLES = {"human", "user"}
ASSISTANT_ROLES = {"gpt", "assistant", "bot", "model"}


def _sample_from_turns(record: dict, turns: list[tuple[str, str]], field: str) -> Sample:
    system = None
    rest = []
    for role, text in turns:
        if role == "system":
            system = text if system is None else f"{system}\n{text}"
        elif role in USER_ROLES:
            rest.append(("user", text))
        elif role in ASSISTANT_ROLES:
            rest.append(("assistant", text))
        # tool/function turns are not part of an instruction sample; skipped
    if isinstance(record.get("system"), str) and record["system"]:
        system = record["system"]
    if len(rest) < 2 or rest[-1][0] != "assistant" or rest[-2][0] != "user":
        raise RecordError(f"'{field}' must end with a user turn followed by an assistant turn")
    pairs = []
    for i in range(0, len(rest) - 2, 2):
        if rest[i][0] != "user" or rest[i + 1][0] != "assistant":
            raise RecordError(f"'{field}' turns must alternate user / assistant")
        pairs.append([rest[i][1], rest[i + 1][1]])
    prompt, output = rest[-2][1], rest[-1][1]
    if not prompt.strip() or not output.strip():
        raise RecordError(f"the last exchange in '{field}' is empty")
    kind, category = kind_and_category(record, prompt)
    if kind == "mcq":
        if "options" not in record or "answer" not in record:
            raise RecordError("an MCQ record needs 'options' and 'answer'")
        options = parse_options(record["options"])
        suffix = "\n\n" + format_options(options)
        question = prompt[: -len(suffix)] if prompt.endswith(suffix) else prompt
        return mcq_sample(question, options, record["answer"], category)
    return Sample(kind=kind, category=category, instruction=prompt, output=output,
                  system=system or None, history=pairs or None)


def _turn_list(record: dict, field: str) -> list:
    turns = record.get(field)
    if turns is None:
        raise RecordError(f"missing required field '{field}'")
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise RecordError(f"field '{field}' must be a list of turns")
    return turns


def _export_turns(row: dict) -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    for user, assistant in json.loads(row["history"]) if row.get("history") else []:
        turns += [("user", user), ("assistant", assistant)]
    turns += [("user", merged_prompt(row["instruction"], row["input"])), ("assistant", row["output"])]
    return turns


class ShareGPTFormat(DataFormat):
    name = "sharegpt"
    label = "ShareGPT (conversations with from/value)"
    export_layouts = ("json", "jsonl")
    dataset_info = {"formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system"}}

    def matches(self, record: dict) -> bool:
        return "conversations" in record

    def parse(self, record: dict) -> Sample:
        turns = []
        for turn in _turn_list(record, "conversations"):
            role, value = turn.get("from"), turn.get("value")
            if not isinstance(role, str) or not isinstance(value, str):
                raise RecordError("each conversation turn needs text 'from' and 'value'")
            turns.append((role.lower(), value))
        return _sample_from_turns(record, turns, "conversations")

    def export(self, row: dict) -> dict:
        names = {"user": "human", "assistant": "gpt"}
        out: dict = {"conversations": [{"from": names[r], "value": t} for r, t in _export_turns(row)]}
        if row.get("system"):
            out["system"] = row["system"]
        out.update(row_extras(row))
        return out


class OpenAIMessagesFormat(DataFormat):
    name = "openai"
    label = "OpenAI messages JSONL (role/content)"
    export_layouts = ("jsonl",)
    dataset_info = {
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }

    def matches(self, record: dict) -> bool:
        return "messages" in record

    def parse(self, record: dict) -> Sample:
        turns = []
        for turn in _turn_list(record, "messages"):
            role, content = turn.get("role"), turn.get("content")
            if isinstance(content, list):  # content parts: keep the text ones
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if not isinstance(role, str) or not isinstance(content, str):
                raise RecordError("each message needs text 'role' and 'content'")
            turns.append((role.lower(), content))
        return _sample_from_turns(record, turns, "messages")

    def export(self, row: dict) -> dict:
        messages = [{"role": "system", "content": row["system"]}] if row.get("system") else []
        messages += [{"role": r, "content": t} for r, t in _export_turns(row)]
        return {"messages": messages, **row_extras(row)}
