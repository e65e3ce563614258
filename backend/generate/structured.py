"""Structured answers: ask a model for JSON, validate it against the stage's schema, retry once.

An :class:`Answerer` is whatever produces the model's raw text for a request: a chat backend
(local GGUF with grammar-constrained decoding, replay), or the async endpoint client
(:mod:`backend.generate.endpoint`). Whatever the answerer, :func:`ask_structured` validates the
answer; an invalid one is asked again ONCE with the validation error, and an answer that still
fails comes back as a failure with its reason (never an exception, never silently dropped).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from backend.errors import UserError

Message = dict


class AnswerError(UserError, RuntimeError):
    """The model gave no answer (unreachable, timed out after the retries, replay exhausted)."""


@dataclass(frozen=True)
class AskRequest:
    step: str  # the stage's step name ("filter", "pseudocode:model.py:Net", ...)
    paper_id: str
    messages: list[Message]
    schema: dict
    attempt: int = 0  # 0 = first ask, 1 = the retry carrying the validation error


@dataclass
class Answer:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Answerer(Protocol):
    """``await ask(request)`` -> the raw answer; raises :class:`AnswerError` when there is none."""

    model: str

    async def ask(self, request: AskRequest) -> Answer: ...


@dataclass
class StructuredResult:
    ok: bool
    parsed: Any = None
    raw: str = ""  # the last raw answer (the retry's, when there was one)
    reason: str = ""  # why it failed
    attempts: int = 0
    raws: list[str] = field(default_factory=list)  # every raw answer, in order
    prompt_tokens: int = 0
    completion_tokens: int = 0


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json(text: str) -> Any:
    """The JSON object in ``text``: the whole text, a fenced block, or the outermost ``{...}``.
    Raises ValueError with a short reason."""
    text = text.strip()
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            # strict=False: raw control characters (a newline) inside strings are unambiguous, and
            # llama-cpp-python's JSON grammar lets them through.
            return json.loads(candidate, strict=False)
        except ValueError:
            continue
    if not text:
        raise ValueError("the answer is empty")
    raise ValueError(f"the answer is not JSON (it starts {text[:60]!r})")


def validation_error(value: Any, schema: dict) -> str | None:
    """The most relevant schema violation as one line, or None when ``value`` is valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at {where}: {error.message[:300]}"


def check(text: str, schema: dict) -> tuple[Any, str | None]:
    """(parsed value, None) for a valid answer, else (whatever parsed, the reason)."""
    try:
        value = parse_json(text)
    except ValueError as exc:
        return None, str(exc)
    return value, validation_error(value, schema)


def retry_messages(messages: list[Message], raw: str, reason: str) -> list[Message]:
    return [
        *messages,
        {"role": "assistant", "content": raw[:4000]},
        {
            "role": "user",
            "content": f"That answer is not valid: {reason}. Answer again with ONE JSON object "
            "that follows the schema exactly, and nothing else.",
        },
    ]


async def ask_structured(answerer: Answerer, request: AskRequest, *, retry: bool = True) -> StructuredResult:
    """Ask, validate, and (``retry``) ask once more with the validation error."""
    result = StructuredResult(ok=False)
    messages = request.messages
    for attempt in range(2 if retry else 1):
        asked = AskRequest(request.step, request.paper_id, messages, request.schema, attempt)
        try:
            answer = await answerer.ask(asked)
        except AnswerError as exc:
            result.reason = f"no answer from the model: {exc}"
            return result
        result.attempts += 1
        result.prompt_tokens += answer.prompt_tokens
        result.completion_tokens += answer.completion_tokens
        result.raw = answer.text
        result.raws.append(answer.text)
        parsed, reason = check(answer.text, request.schema)
        if reason is None:
            result.ok, result.parsed, result.reason = True, parsed, ""
            return result
        result.parsed = parsed
        result.reason = f"invalid answer{' after a retry' if attempt else ''}: {reason}"
        messages = retry_messages(request.messages, answer.text, reason)
    return result
