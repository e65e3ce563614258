"""The one way to talk to a model: a ChatBackend makes one Response per call, which streams text
chunks and carries its own cancel, stats and end.

Implementations (local GGUF, OpenAI-compatible HTTP, replay) are plugins registered through
``register_backends``; :func:`backend.llm.resolve.get_backend` turns a model spec into one.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from backend.cancel import Cancelled, CancelToken
from backend.errors import UserError
from backend.llm.degenerate import LOOP_REASON, LoopDetector

__all__ = ["BackendError", "Cancelled", "CancelToken", "ChatBackend", "ChatStats", "GenerationSettings", "Message",
           "Response", "complete"]
Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


class BackendError(UserError, RuntimeError):
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
    # Time to first token inside a local model's worker process (prompt evaluation, no transport).
    worker_ttft_s: float | None = None

    @property
    def tokens_per_s(self) -> float:
        gen_time = self.total_s - (self.ttft_s or 0.0)
        if self.completion_tokens <= 1 or gen_time <= 0:
            return 0.0
        return (self.completion_tokens - 1) / gen_time


class Response:
    """One model call, one object: its chunks, its own cancel, its stats and its end.

    Made by :meth:`ChatBackend.prompt` (as simonw/llm's ``model.prompt()`` makes its ``Response``);
    nothing runs until it is iterated (or :meth:`text` is called), on whatever thread does that.
    :meth:`cancel` may be called from any thread at any time — before the first token, before the
    call has even started, while its model is still loading — and that call, and only that one,
    stops. ``stats`` belong to this call alone, so two answers at once each show their own figures.
    A Response streams once.
    """

    def __init__(self, backend: ChatBackend, messages: list[Message], settings: GenerationSettings | None) -> None:
        self.backend = backend
        self.messages = list(messages)
        self.settings = settings or GenerationSettings()
        self.stats = ChatStats()
        self.cancel_event = CancelToken()   # what a backend hands to its transport (a worker, HTTP)
        self._ended = threading.Event()
        self._chunks: list[str] = []
        self._gen: Iterator[str] | None = None

    # -- control (any thread) --------------------------------------------------------------------
    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def done(self) -> bool:
        """True once the call has ended: answered, stopped, or failed."""
        return self._ended.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    # -- the answer ------------------------------------------------------------------------------
    def __iter__(self) -> Response:
        return self

    def __next__(self) -> str:
        if self._gen is None:
            self._gen = self._stream()
        return next(self._gen)

    def close(self) -> None:
        """Leave mid-stream: the model stops (as after :meth:`cancel`), the stats are final."""
        if self._gen is None:
            self._gen = iter(())
            self._ended.set()
        else:
            self._gen.close()

    def text(self) -> str:
        """The whole answer (iterates to the end when nobody has)."""
        if self._gen is None:
            for _ in self:
                pass
        return "".join(self._chunks)

    def _stream(self) -> Iterator[str]:
        backend, settings, stats = self.backend, self.settings, self.stats
        start = time.perf_counter()
        chunks = 0
        gen = None
        try:
            if self.cancelled:
                return
            backend._prepare(self)
            messages, stats.dropped_messages = backend.fit_context(self.messages, settings)
            gen = backend._generate(messages, settings, self)
            loops = LoopDetector() if settings.stop_on_loop else None
            for chunk in gen:
                if self.cancelled:
                    break
                if not chunk:
                    continue
                if stats.ttft_s is None:
                    stats.ttft_s = time.perf_counter() - start
                chunks += 1
                self._chunks.append(chunk)
                yield chunk
                if loops is not None and loops.feed(chunk):
                    # Closing the generator (below) stops the model, as a user's Stop would.
                    stats.stop_reason = LOOP_REASON
                    break
        except Cancelled:
            self.cancel_event.cancel()
            return   # stopped while it could not answer yet (a model load): an empty, stopped answer
        finally:
            close = getattr(gen, "close", None)
            if close:
                close()
            stats.total_s = time.perf_counter() - start
            if not stats.completion_tokens:
                stats.completion_tokens = chunks
            self._ended.set()


class ChatBackend(ABC):
    """Answers lists of messages: :meth:`prompt` makes one :class:`Response` per call.

    A backend may serve several calls at once (each on its own thread); per-call state lives on
    the Response, never on the backend.
    """

    spec: str = ""
    #: What kind of model this backend serves (see backend.llm.model_spec): "local", "endpoint",
    #: "replay"; any other backend is "other".
    kind: str = "other"
    # Whether separate backend objects for one spec may stream at the same time (an HTTP endpoint
    # serves them concurrently); a local model answers one call at a time, a replay plays in order.
    concurrent_streams: bool = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[Response] = set()

    @abstractmethod
    def _generate(self, messages: list[Message], settings: GenerationSettings, response: Response) -> Iterator[str]:
        """Yield text chunks for ``response``: stop when ``response.cancelled`` (or hand
        ``response.cancel_event`` to the transport), and set ``response.stats.prompt_tokens`` /
        ``completion_tokens`` when known."""

    def _prepare(self, response: Response) -> None:  # noqa: B027 - optional hook
        """Get ready for ``response`` before its context is fitted (a local model loads here, and
        stops loading when the response is cancelled: raise :class:`Cancelled` then)."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; backends with a tokenizer override this rough 4-characters estimate."""
        return max(1, len(text) // 4) if text else 0

    def fit_context(self, messages: list[Message], settings: GenerationSettings) -> tuple[list[Message], int]:
        """(messages to send, how many old ones were left out). Backends that know their context
        window (local GGUF) override this using :func:`backend.llm.context_window.fit_messages`;
        by default everything is sent."""
        return messages, 0

    def prompt(self, messages: list[Message], settings: GenerationSettings | None = None) -> Response:
        """A :class:`Response` for ``messages``; it runs when iterated.

        When the conversation is longer than the context window, the oldest turns are left out
        (``response.stats.dropped_messages`` says how many) rather than failing.
        """
        response = Response(self, messages, settings)
        with self._lock:
            self._active = {r for r in self._active if not r.done}
            self._active.add(response)
        return response

    def stream(self, messages: list[Message], settings: GenerationSettings | None = None) -> Response:
        """Same as :meth:`prompt` (iterate it for the chunks)."""
        return self.prompt(messages, settings)

    def stop(self) -> None:
        """Cancel every call of this backend that has not ended (e.g. when its owner closes)."""
        with self._lock:
            active = list(self._active)
        for response in active:
            response.cancel()

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
    return backend.prompt(messages, settings).text()
