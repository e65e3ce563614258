"""``replay:PATH``: plays recorded responses from a JSONL file, one ``{"content": ...}`` per call.

Used by tests (the one stand-in allowed: for what a model *says*) and to re-run a recorded
session deterministically. Built in (``backend.llm.resolve``), so it works with plugins disabled;
``plugins/replay_backend.py`` registers it like any other backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from backend.llm.base import BackendError, ChatBackend, GenerationSettings, Message, Response


class ReplayExhausted(BackendError):
    pass


class ReplayBackend(ChatBackend):
    kind = "replay"

    def __init__(self, spec: str, **_options) -> None:
        super().__init__()
        self.spec = spec
        self.path = Path(spec.removeprefix("replay:")).expanduser()
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except OSError as exc:
            raise BackendError(f"Replay file {self.path} cannot be read: {exc.strerror or exc}", retryable=False) from exc
        self.responses: list[str] = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                self.responses.append(str(json.loads(line)["content"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise BackendError(
                    f"Replay file {self.path}, line {n}: expected {{\"content\": ...}} ({exc})", retryable=False
                ) from exc
        self.position = 0

    def resume_after(self, answers_given: int) -> None:
        """The next answer is the one recorded after ``answers_given`` earlier ones."""
        self.position = max(0, min(int(answers_given), len(self.responses)))

    def _generate(self, messages: list[Message], settings: GenerationSettings, response: Response) -> Iterator[str]:
        if self.position >= len(self.responses):
            raise ReplayExhausted(
                f"Replay file {self.path} has run out: all {len(self.responses)} recorded responses were used.",
                retryable=False,
            )
        text = self.responses[self.position]
        self.position += 1
        response.stats.prompt_tokens = sum(len(m.get("content", "").split()) for m in messages)
        # Stream word by word (keeping whitespace) so views exercise the real streaming path.
        # Counted as they go out: an answer stopped early (Stop, a loop) reports what was sent.
        for piece in re.findall(r"\S+\s*|\s+", text):
            response.stats.completion_tokens += 1
            yield piece
