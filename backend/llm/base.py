"""The one way to talk to a model: a ChatBackend streams text chunks and reports timings.

Implementations (local GGUF, OpenAI-compatible HTTP, replay) are plugins registered through
``register_backends``; :func:`backend.llm.resolve.get_backend` turns a model spec into one.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from backend.llm.degenerate import LOOP_REASON, LoopDetector

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


class BackendError(RuntimeError):
    """A model could not answer; ``str(exc)`` is fit to show the user. ``retryable`` hints Retry."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass
class GenerationSettings:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    context_size: int = 4096
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    # llama.cpp's repetition penalty; None = the model's default (backend.llm.degenerate).
    repeat_penalty: float | None = None
    # End the answer when it loops (backend.llm.degenerate.LoopDetector); off for raw benchmarks.
    stop_on_loop: bool = True
    # A JSON schema the answer must follow: grammar-constrained decoding on local GGUF models,
    # ``response_format`` on endpoints; None = free text.
    json_schema: dict | None = None


@dataclass
class ChatStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float | None = None     # time to first token
    total_s: float = 0.0
    # Oldest turns left out so the conversation fits the context window (0 = everything was sent).
    dropped_messages: int = 0
    # Why the answer ended early, if not by the model or the user (degenerate.LOOP_REASON).
    stop_reason: str | None = None

    @property
    def tokens_per_s(self) -> float:
        gen_time = self.total_s - (self.ttft_s or 0.0)
        if self.completion_tokens <= 1 or gen_time <= 0:
            return 0.0
        return (self.completion_tokens - 1) / gen_time


class ChatBackend(ABC):
    """Streams an answer for a list of messages. ``stop()`` may be called from any thread."""

    spec: str = ""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.last_stats = ChatStats()

    @abstractmethod
    def _generate(self, messages: list[Message], settings: GenerationSettings) -> Iterator[str]:
        """Yield text chunks; set ``self.last_stats.prompt_tokens`` / ``completion_tokens`` if known."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; backends with a tokenizer override this rough 4-characters estimate."""
        return max(1, len(text) // 4) if text else 0

    def fit_context(self, messages: list[Message], settings: GenerationSettings) -> tuple[list[Message], int]:
        """(messages to send, how many old ones were left out). Backends that know their context
        window (local GGUF) override this using :func:`backend.llm.context_window.fit_messages`;
        by default everything is sent."""
        return messages, 0

    def stream(self, messages: list[Message], settings: GenerationSettings | None = None) -> Iterator[str]:
        """Yield text chunks, timing them; ends early (cleanly) after :meth:`stop`.

        When the conversation is longer than the context window, the oldest turns are left out
        (``last_stats.dropped_messages`` says how many) rather than failing.
        """
        settings = settings or GenerationSettings()
        self._stop.clear()
        self.last_stats = stats = ChatStats()
        start = time.perf_counter()
        chunks = 0
        messages, stats.dropped_messages = self.fit_context(list(messages), settings)
        gen = self._generate(messages, settings)
        loops = LoopDetector() if settings.stop_on_loop else None
        try:
            for chunk in gen:
                if self._stop.is_set():
                    break
                if not chunk:
                    continue
                if stats.ttft_s is None:
                    stats.ttft_s = time.perf_counter() - start
                chunks += 1
                yield chunk
                if loops is not None and loops.feed(chunk):
                    # Closing the generator (below) stops the model, as a user's Stop would.
                    stats.stop_reason = LOOP_REASON
                    break
        finally:
            close = getattr(gen, "close", None)
            if close:
                close()
            stats.total_s = time.perf_counter() - start
            if not stats.completion_tokens:
                stats.completion_tokens = chunks

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def resume_after(self, answers_given: int) -> None:  # noqa: B027 - optional hook, live models ignore it
        """Continue a recorded conversation that has already had ``answers_given`` answers.

        A backend that plays recorded answers (``replay:``) moves to that position, so a session
        reopened later, or a stage run again, gets the answer recorded for it; a live model has
        nothing to seek and ignores it.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (a loaded model, an HTTP client)."""


def complete(backend: ChatBackend, messages: list[Message], settings: GenerationSettings | None = None) -> str:
    """The whole answer as one string (for headless pipelines and the CLI)."""
    return "".join(backend.stream(messages, settings))
