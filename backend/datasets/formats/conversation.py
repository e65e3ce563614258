"""The canonical conversation every chat format goes through: OpenAI-style messages.

A canonical message is ``{"role": system|user|assistant|tool, "content": str | list | None,
"tool_calls": [{"id"?, "type": "function", "function": {"name", "arguments": str}}],
"tool_call_id"?: str, ...any other per-message key verbatim}``. ShareGPT turns and OpenAI
messages are read into it and written back from it, so tool calls, tool results, content parts
and preference sides survive a round trip and convert across the formats that can hold them.
Keys starting with ``_`` carry a source format's exact spelling (e.g. the raw ``function_call``
value of a ShareGPT turn) and are never written to another format.
"""

from __future__ import annotations

import json
from typing import Any

from backend.datasets.schema import RecordError

USER_ROLES = {"human", "user"}
ASSISTANT_ROLES = {"gpt", "assistant", "bot", "model"}
TOOL_CALL_ROLES = {"function_call", "tool_call"}
TOOL_RESULT_ROLES = {"observation", "tool", "function"}
TEXT_PART_KEYS = ("text", "value", "content")   # the spellings of a text part seen in the wild


class ExportRefused(ValueError):
    """A sample the target format cannot hold without losing content; ``str(exc)`` says what."""


def part_text(part: Any, where: str) -> str | None:
    """The text of one content part; None for a non-text part (an image, audio), kept verbatim."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise RecordError(f"{where}: a content part must be an object or text, not {type(part).__name__}")
    kind = part.get("type", "text")
    if kind not in ("text", "input_text", "output_text"):
        return None
    for key in TEXT_PART_KEYS:
        if isinstance(part.get(key), str):
            return part[key]
    raise RecordError(f"{where}: text content part has no 'text' (keys: {', '.join(sorted(map(str, part)))})")


def content_text(content: Any, where: str) -> str:
    """Plain text of a message's content (a string, a list of parts, or None)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part_text(p, f"{where}, part {i + 1}") for i, p in enumerate(content)]
        return "".join(t for t in texts if t)
    raise RecordError(f"{where}: 'content' must be text or a list of parts, not {type(content).__name__}")


def _call_from_sharegpt(item: Any, where: str) -> dict:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RecordError(f"{where}: a function_call value must be JSON {{\"name\": ..., \"arguments\": ...}}")
    args = item.get("arguments", {})
    return {"type": "function", "function": {
        "name": item["name"], "arguments": args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)}}


def sharegpt_turn(turn: Any, index: int, field: str) -> dict:
    """One ShareGPT turn (from/value) -> a canonical message."""
    where = f"'{field}' turn {index + 1}"
    if not isinstance(turn, dict):
        raise RecordError(f"{where} must be an object with 'from' and 'value'")
    role, value = turn.get("from"), turn.get("value")
    if not isinstance(role, str):
        raise RecordError(f"{where} has no text 'from'")
    if not isinstance(value, str):
        raise RecordError(f"{where} ({role}) has no text 'value'" if value is None
                          else f"{where} ({role}): 'value' must be text, not {type(value).__name__}")
    others = {k: v for k, v in turn.items() if k not in ("from", "value")}
    low = role.lower()
    if low in TOOL_CALL_ROLES:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise RecordError(f"{where} (function_call): value is not JSON {{\"name\", \"arguments\"}}") from None
        items = parsed if isinstance(parsed, list) else [parsed]
        calls = [_call_from_sharegpt(item, where) for item in items]
        return {"role": "assistant", "content": None, "tool_calls": calls, "_sharegpt_value": value,
                "_sharegpt_from": role, **others}
    if low in TOOL_RESULT_ROLES:
        return {"role": "tool", "content": value, "_sharegpt_from": role, **others}
    if low in USER_ROLES:
        canon = "user"
    elif low in ASSISTANT_ROLES:
        canon = "assistant"
    elif low == "system":
        canon = "system"
    else:
        raise RecordError(f"{where}: unknown role 'from: {role}' (expected human, gpt, system, "
                          "function_call or observation)")
    message = {"role": canon, "content": value, **others}
    if role != {"user": "human", "assistant": "gpt", "system": "system"}[canon]:
        message["_sharegpt_from"] = role
    return message


def openai_message(message: Any, index: int, field: str) -> dict:
    """One OpenAI chat message -> a canonical message (checked, otherwise verbatim)."""
    where = f"'{field}' message {index + 1}"
    if not isinstance(message, dict):
        raise RecordError(f"{where} must be an object with 'role' and 'content'")
    role = message.get("role")
    if not isinstance(role, str):
        raise RecordError(f"{where} has no text 'role'")
    out = dict(message)
    low = role.lower()
    if low == "function":  # the pre-tools spelling of a tool result
        low = "tool"
    if low not in ("system", "user", "assistant", "tool", "developer"):
        raise RecordError(f"{where}: unknown role '{role}' (expected system, user, assistant or tool)")
    calls = message.get("tool_calls")
    if calls is not None:
        if low != "assistant" or not isinstance(calls, list) or not all(
                isinstance(c, dict) and isinstance(c.get("function"), dict)
                and isinstance(c["function"].get("name"), str) for c in calls):
            raise RecordError(f"{where}: 'tool_calls' must be a list of {{\"function\": {{\"name\", \"arguments\"}}}}")
    if "content" not in message and not calls:
        raise RecordError(f"{where} ({role}) has no 'content'")
    content_text(message.get("content"), where)  # validates the parts
    if message.get("content") is None and not calls:
        raise RecordError(f"{where} ({role}): 'content' is null and there are no tool_calls")
    return out


def parse_tools(value: Any) -> list | None:
    """Tool definitions: a list (OpenAI) or a JSON string of one (LLaMA-Factory ShareGPT)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise RecordError("field 'tools' is not JSON (expected a list of tool definitions)") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RecordError("field 'tools' must be a list of tool definitions")
    return value


def tool_functions(tools: list) -> list[dict]:
    """OpenAI tool entries {"type": "function", "function": {...}} -> their function definitions."""
    return [t["function"] if t.get("type") == "function" and isinstance(t.get("function"), dict) else t
            for t in tools]


def openai_tools(tools: list) -> list[dict]:
    return [t if "function" in t and "type" in t else {"type": "function", "function": t} for t in tools]


def call_summary(call: dict) -> str:
    fn = call.get("function", {})
    return f"{fn.get('name', '?')}({fn.get('arguments', '')})"


def message_text(message: dict) -> str:
    """Searchable text of a message: its content, or its calls when it only calls tools."""
    text = content_text(message.get("content"), "message")
    if not text and message.get("tool_calls"):
        text = "; ".join(call_summary(c) for c in message["tool_calls"])
    return text


def check_order(messages: list[dict], field: str, *, ends_with_user: bool) -> None:
    """The shape every trainer expects: a user turn first (after system), tool results after a call,
    and the right last turn (a user turn for a preference pair, else an answer)."""
    body = [m for m in messages if m["role"] not in ("system", "developer")]
    if not body:
        raise RecordError(f"'{field}' has no user turn")
    if body[0]["role"] != "user":
        raise RecordError(f"'{field}' must start with a user turn (after any system turn)")
    for i, m in enumerate(body):
        if m["role"] == "tool" and not (body[i - 1].get("tool_calls") or body[i - 1]["role"] == "tool"):
            raise RecordError(f"'{field}': a tool result must follow a tool call")
    last = body[-1]["role"]
    if ends_with_user and last != "user":
        raise RecordError(f"'{field}' of a preference record must end with the user turn that "
                          "'chosen' and 'rejected' answer")
    if not ends_with_user and last not in ("assistant", "tool") and not body[-1].get("tool_calls"):
        raise RecordError(f"'{field}' must end with an assistant turn")


# -- writing ---------------------------------------------------------------------------------------

def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def to_sharegpt_turn(message: dict) -> dict:
    """A canonical message -> a ShareGPT turn; ExportRefused where ShareGPT cannot hold it."""
    others = {k: v for k, v in message.items()
              if k not in ("role", "content", "tool_calls", "tool_call_id", "name") and not k.startswith("_")}
    role = message["role"]
    if message.get("tool_calls"):
        if content_text(message.get("content"), "message"):
            raise ExportRefused("an assistant turn has text and tool calls together (ShareGPT has one or the other)")
        value = message.get("_sharegpt_value")
        if value is None:
            calls = [{"name": c["function"]["name"], "arguments": _arguments(c["function"].get("arguments"))}
                     for c in message["tool_calls"]]
            value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
        return {"from": message.get("_sharegpt_from", "function_call"), "value": value, **others}
    if not isinstance(message.get("content"), (str, type(None))):
        texts = [part_text(p, "message") for p in message["content"]]
        if any(t is None for t in texts):
            raise ExportRefused("a turn has non-text content parts (images, audio), which ShareGPT cannot hold")
    value = content_text(message.get("content"), "message")
    default = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation",
               "developer": "system"}[role]
    return {"from": message.get("_sharegpt_from", default), "value": value, **others}


def _arguments(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_openai_messages(messages: list[dict]) -> list[dict]:
    """Canonical messages -> OpenAI messages, giving tool calls and results matching ids where the
    source (ShareGPT) had none: results answer the calls before them, in order."""
    out: list[dict] = []
    pending: list[str] = []
    counter = 0
    for message in messages:
        m = _public(message)
        if m.get("tool_calls"):
            calls = []
            pending = []
            for call in m["tool_calls"]:
                call = dict(call)
                if not call.get("id"):
                    counter += 1
                    call["id"] = f"call_{counter}"
                call.setdefault("type", "function")
                pending.append(call["id"])
                calls.append(call)
            m["tool_calls"] = calls
            m.setdefault("content", None)
        elif m["role"] == "tool" and not m.get("tool_call_id") and pending:
            m["tool_call_id"] = pending.pop(0)
        out.append(m)
    return out


def preference_side(value: Any, field: str, parse_turn) -> tuple[dict, str]:
    """'chosen' / 'rejected': a turn object, a list holding one, or plain text -> (message, shape)."""
    if isinstance(value, str):
        return {"role": "assistant", "content": value}, "text"
    if isinstance(value, list):
        if len(value) != 1:
            raise RecordError(f"'{field}' must be one answer turn, got a list of {len(value)}")
        return parse_turn(value[0], 0, field), "list"
    if isinstance(value, dict):
        return parse_turn(value, 0, field), "turn"
    raise RecordError(f"'{field}' must be an answer turn or text, not {type(value).__name__}")


def parse_preference(record: dict, parse_turn) -> dict | None:
    """chosen/rejected (DPO, ORPO...) or kto_tag (KTO) -> the stored preference; clear errors otherwise."""
    has_c, has_r = "chosen" in record, "rejected" in record
    if has_c != has_r:
        present, missing = ("chosen", "rejected") if has_c else ("rejected", "chosen")
        raise RecordError(f"preference record has '{present}' but no '{missing}'")
    if has_c:
        chosen, shape = preference_side(record["chosen"], "chosen", parse_turn)
        rejected, _ = preference_side(record["rejected"], "rejected", parse_turn)
        return {"chosen": chosen, "rejected": rejected, "shape": shape}
    if "kto_tag" in record:
        if not isinstance(record["kto_tag"], bool):
            raise RecordError("field 'kto_tag' must be true or false")
        return {"kto_tag": record["kto_tag"]}
    return None


def side_for(fmt: str, message: dict, shape: str) -> Any:
    """A stored preference side written in ``fmt``'s spelling."""
    if fmt == "alpaca" or shape == "text":
        if message.get("tool_calls") or not isinstance(message.get("content"), str) \
                or set(_public(message)) - {"role", "content"}:
            raise ExportRefused("a preference side is more than plain text")
        return message["content"]
    turn = to_sharegpt_turn(message) if fmt == "sharegpt" else to_openai_messages([message])[0]
    return [turn] if shape == "list" else turn
