"""Conversation records: ShareGPT (`conversations` of from/value) and OpenAI `messages` (role/content).

The last user turn is the sample's prompt and the final answer its output (what the table shows
and search finds); earlier plain exchanges become its history, a system turn its system prompt.
Whatever those fields cannot rebuild — tool calls and results, content parts, per-turn fields,
system turns in place — is kept as the canonical conversation (``formats.conversation``), with
the ``tools`` definitions, the preference pair or KTO label, and unknown fields verbatim.
"""

from __future__ import annotations

import json

from backend.datasets.formats.base import (
    DataFormat,
    format_options,
    kind_and_category,
    mcq_sample,
    parse_options,
    rich,
    row_extras,
    sample_row,
    split_known,
)
from backend.datasets.formats.conversation import (
    ExportRefused,
    check_order,
    message_text,
    openai_message,
    openai_tools,
    parse_preference,
    parse_tools,
    sharegpt_turn,
    side_for,
    to_openai_messages,
    to_sharegpt_turn,
    tool_functions,
)
from backend.datasets.schema import RecordError, Sample, merged_prompt

PREFERENCE_KEYS = {"chosen", "rejected", "kto_tag"}
SAMPLE_KEYS = {"system", "tools", "kind", "type", "category", "options", "answer"} | PREFERENCE_KEYS


def _legacy_fields(messages: list[dict], record: dict, field: str, preference: dict | None):
    """(system, history pairs, prompt, output) as the legacy columns hold them."""
    system_turns = [message_text(m) for m in messages if m["role"] in ("system", "developer")]
    top = record.get("system")
    if top is not None and not isinstance(top, str):
        raise RecordError("field 'system' must be text")
    system = top if top else ("\n".join(system_turns) or None)
    body = [m for m in messages if m["role"] not in ("system", "developer")]
    last_user = max(i for i, m in enumerate(body) if m["role"] == "user")
    prompt = message_text(body[last_user])
    if preference and "chosen" in preference:
        output = message_text(preference["chosen"])
    else:
        answers = [message_text(m) for m in body[last_user + 1:] if m["role"] == "assistant"]
        output = next((a for a in reversed(answers) if a), "")
    earlier = body[:last_user]
    plain = all(m["role"] == ("user", "assistant")[i % 2] and not m.get("tool_calls")
                for i, m in enumerate(earlier)) and len(earlier) % 2 == 0
    # Earlier exchanges as [user, assistant] pairs when they are plain (else only the conversation has them).
    pairs = [[message_text(earlier[i]), message_text(earlier[i + 1])] for i in range(0, len(earlier), 2)] \
        if plain else []
    if not prompt.strip():
        raise RecordError(f"the last user turn in '{field}' is empty")
    if not output.strip():
        raise RecordError(f"the answer in '{field}' is empty" if not preference or "chosen" not in preference
                          else "'chosen' is empty")
    return system, pairs, prompt, output


def _legacy_turns(row: dict) -> list[dict]:
    """Canonical messages rebuilt from the legacy columns (history, prompt, output)."""
    turns: list[dict] = []
    for user, assistant in json.loads(row["history"]) if row.get("history") else []:
        turns += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    turns.append({"role": "user", "content": merged_prompt(row["instruction"], row["input"])})
    if "chosen" not in rich(row).get("preference", {}):
        turns.append({"role": "assistant", "content": row["output"]})
    return turns


class _ChatFormat(DataFormat):
    field = ""
    export_layouts = ("json", "jsonl")

    def matches(self, record: dict) -> bool:
        return self.field in record

    def parse_turn(self, turn, index: int, field: str) -> dict:
        raise NotImplementedError

    def parse(self, record: dict) -> Sample:
        turns = record.get(self.field)
        if turns is None:
            raise RecordError(f"missing required field '{self.field}'")
        if not isinstance(turns, list):
            raise RecordError(f"field '{self.field}' must be a list of turns")
        messages = [self.parse_turn(t, i, self.field) for i, t in enumerate(turns)]
        preference = parse_preference(record, self.parse_turn)
        check_order(messages, self.field, ends_with_user=bool(preference and "chosen" in preference))
        system, pairs, prompt, output = _legacy_fields(messages, record, self.field, preference)
        kind, category = kind_and_category(record, prompt)
        if kind == "mcq":
            if "options" not in record or "answer" not in record:
                raise RecordError("an MCQ record needs 'options' and 'answer'")
            options = parse_options(record["options"])
            suffix = "\n\n" + format_options(options)
            question = prompt[: -len(suffix)] if prompt.endswith(suffix) else prompt
            return mcq_sample(question, options, record["answer"], category)
        extra, omit = split_known(record, SAMPLE_KEYS | {self.field})
        sample = Sample(kind=kind, category=category, instruction=prompt, output=output, system=system,
                        history=pairs or None, extra=extra, tools=parse_tools(record.get("tools")),
                        preference=preference, layout={"omit": omit} if omit else {})
        if isinstance(record.get("tools"), str) and sample.tools:
            sample.layout["tools_raw"] = record["tools"]  # ShareGPT's JSON-in-a-string, byte for byte
        # Keep the whole conversation only where the columns above cannot give it back exactly.
        owned = (self.field, "system", "tools", *PREFERENCE_KEYS)
        mine = {k: record[k] for k in owned if k in record and record[k] not in (None, "")}
        try:
            back = self.export(sample_row(sample))
        except ExportRefused:
            back = {}
        if {k: back[k] for k in owned if k in back} != mine:
            sample.messages = messages
            if isinstance(record.get("system"), str) and record["system"]:
                sample.layout["system_field"] = True
        return sample

    def conversation(self, row: dict) -> tuple[list[dict], str | None]:
        """(canonical messages, top-level system) for a stored row."""
        extra = rich(row)
        if extra.get("messages"):
            top = row.get("system") if extra.get("layout", {}).get("system_field") else None
            return extra["messages"], top
        return _legacy_turns(row), row.get("system") or None

    def extras(self, row: dict, out: dict) -> dict:
        extra = rich(row)
        if extra.get("tools"):
            out["tools"] = self.tools_value(extra["tools"], extra.get("layout", {}))
        pref = extra.get("preference")
        if pref and "chosen" in pref:
            out["chosen"] = side_for(self.name, pref["chosen"], pref.get("shape", "turn"))
            out["rejected"] = side_for(self.name, pref["rejected"], pref.get("shape", "turn"))
        elif pref and "kto_tag" in pref:
            out["kto_tag"] = pref["kto_tag"]
        out.update(row_extras(row))
        return out

    def tools_value(self, tools: list, layout: dict):
        raise NotImplementedError


class ShareGPTFormat(_ChatFormat):
    name = "sharegpt"
    label = "ShareGPT (conversations with from/value, function_call/observation, tools)"
    field = "conversations"
    dataset_info = {"formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system"}}

    def parse_turn(self, turn, index: int, field: str) -> dict:
        return sharegpt_turn(turn, index, field)

    def tools_value(self, tools: list, layout: dict):
        # LLaMA-Factory reads ShareGPT tools as a JSON string of function definitions.
        return layout.get("tools_raw") or json.dumps(tool_functions(tools), ensure_ascii=False)

    def export(self, row: dict) -> dict:
        messages, top = self.conversation(row)
        out: dict = {"conversations": [to_sharegpt_turn(m) for m in messages]}
        if top:
            out["system"] = top
        return self.extras(row, out)


class OpenAIMessagesFormat(_ChatFormat):
    name = "openai"
    label = "OpenAI messages JSONL (role/content, tool_calls, tools)"
    field = "messages"
    export_layouts = ("jsonl",)
    dataset_info = {
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"},
    }

    def parse_turn(self, turn, index: int, field: str) -> dict:
        return openai_message(turn, index, field)

    def tools_value(self, tools: list, layout: dict):
        return openai_tools(tools)

    def export(self, row: dict) -> dict:
        messages, top = self.conversation(row)
        system = [{"role": "system", "content": top}] if top else []
        return self.extras(row, {"messages": system + to_openai_messages(messages)})
