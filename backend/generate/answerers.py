"""Answerers for the Generate pipeline: a recorded-answers file keyed by step, and any chat backend.

- :class:`KeyedReplay` reads the ``replay:`` JSONL format (``{"content": ...}`` per line) where a
  line may also name its ``step`` (``filter``, ``diagram``, ``pseudocode`` or
  ``pseudocode:<file>:<name>``...) and ``paper`` (an id; absent = any paper). Answers are found by
  key, not by position, so papers can run in any order or on any Ray worker and still get the
  same answers. The n-th line for a key answers the n-th ask of that step (the retry after an
  invalid answer is the second).
- :class:`BackendAnswerer` puts any :class:`~backend.llm.base.ChatBackend` (local GGUF with
  grammar-constrained JSON, a positional ``replay:`` file, ...) behind the async answerer
  interface: one request at a time, in a worker thread so the event loop stays free.
- :func:`make_answerer` picks one for a designer spec (endpoints: :mod:`backend.generate.endpoint`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from backend.generate.structured import Answer, AnswerError, AskRequest
from backend.llm.base import BackendError, ChatBackend, GenerationSettings


class KeyedReplay:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(str(path).removeprefix("replay:")).expanduser()
        self.model = f"replay:{self.path}"
        self.answers: dict[tuple[str | None, str], list[str]] = {}
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except OSError as exc:
            raise AnswerError(f"replay file {self.path} cannot be read: {exc.strerror or exc}") from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = (record.get("paper"), str(record["step"]))
                self.answers.setdefault(key, []).append(str(record["content"]))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise AnswerError(
                    f'replay file {self.path}, line {n}: expected {{"step": ..., "content": ...}} ({exc})'
                ) from exc

    @staticmethod
    def is_keyed(path: Path | str) -> bool:
        """Whether a replay file names steps (else it is a plain positional ``replay:`` file)."""
        path = Path(str(path).removeprefix("replay:")).expanduser()
        try:
            with path.open("r", encoding="utf-8") as fh:
                first = next((line for line in fh if line.strip()), "")
            return isinstance(json.loads(first), dict) and "step" in json.loads(first)
        except (OSError, ValueError):
            return False

    def _recorded(self, request: AskRequest) -> list[str]:
        stage = request.step.split(":")[0]
        for key in (
            (request.paper_id, request.step),
            (None, request.step),
            (request.paper_id, stage),
            (None, stage),
        ):
            if key in self.answers:
                return self.answers[key]
        raise AnswerError(
            f"replay file {self.path} has no answer for step {request.step!r} of paper {request.paper_id!r}"
        )

    async def ask(self, request: AskRequest) -> Answer:
        recorded = self._recorded(request)
        if request.attempt >= len(recorded):
            raise AnswerError(
                f"replay file {self.path} has {len(recorded)} answer(s) for step {request.step!r}; "
                f"attempt {request.attempt + 1} has none"
            )
        text = recorded[request.attempt]
        prompt = sum(len(m.get("content", "")) for m in request.messages) // 4
        return Answer(text, prompt, max(1, len(text) // 4))


class BackendAnswerer:
    """A chat backend as an answerer: each request's schema becomes ``GenerationSettings.json_schema``."""

    def __init__(self, backend: ChatBackend, settings: GenerationSettings | None = None) -> None:
        self.backend = backend
        self.model = backend.spec
        # JSON needs no loop guard (the grammar ends it) and a low temperature keeps it on topic.
        self.settings = settings or GenerationSettings(temperature=0.2, max_tokens=1024, stop_on_loop=False)
        self._lock = asyncio.Lock()

    def _complete(self, request: AskRequest) -> Answer:
        settings = dataclasses.replace(self.settings, json_schema=request.schema)
        response = self.backend.prompt(request.messages, settings)   # one call, its own stats
        try:
            text = response.text()
        except BackendError as exc:
            raise AnswerError(str(exc)) from exc
        return Answer(text, response.stats.prompt_tokens, response.stats.completion_tokens)

    async def ask(self, request: AskRequest) -> Answer:
        async with self._lock:  # one model, one answer at a time
            return await asyncio.to_thread(self._complete, request)

    def close(self) -> None:
        self.backend.close()


def is_endpoint(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def make_answerer(
    spec: str,
    *,
    concurrency: int = 4,
    timeout_s: float = 120.0,
    max_retries: int = 4,
    backoff_s: float = 1.0,
    settings: GenerationSettings | None = None,
):
    """The answerer for a designer spec: endpoint (async client), keyed replay, or any chat backend."""
    if is_endpoint(spec):
        from backend.generate.endpoint import EndpointAnswerer

        return EndpointAnswerer(
            spec,
            concurrency=concurrency,
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_s=backoff_s,
            settings=settings,
        )
    if spec.startswith("replay:") and KeyedReplay.is_keyed(spec):
        return KeyedReplay(spec)
    from backend.llm.resolve import get_backend

    try:
        backend = get_backend(spec)
    except BackendError as exc:
        raise AnswerError(str(exc)) from exc
    return BackendAnswerer(backend, settings)
