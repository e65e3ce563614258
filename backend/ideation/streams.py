"""Several model answers at once: one prompt (or several) streamed to N designers in parallel.

Local GGUF models run in one worker process per model, so their calls are serialised per model
(a second call would only queue inside the worker); recorded ``replay:`` answers must be played
in order, so they are serialised too. Backends that say ``concurrent_streams`` (OpenAI-compatible
endpoints) get one backend object per request, all streaming at the same time.

Only the worker threads talk to the models; everything they produce comes back through one queue,
so the caller (who owns the SQLite connection) records it on its own thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from backend.llm.base import BackendError, ChatBackend, GenerationSettings, Response

BackendFactory = Callable[[str], ChatBackend]


@dataclass(frozen=True)
class StreamRequest:
    key: int  # the caller's id for it (the step id of the card)
    spec: str  # the designer model
    prompt: str
    settings: GenerationSettings


@dataclass
class StreamResult:
    key: int
    text: str = ""
    error: str | None = None  # one line for the user when the model failed
    stopped: bool = False  # the user stopped it (or the loop detector did: see stop_reason)
    stop_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    total_s: float = 0.0
    tokens_per_s: float = 0.0


# Events put on the queue: ("chunk", key, text) and ("done", key, StreamResult).
Event = tuple[str, int, object]


def _new_backend(spec: str) -> ChatBackend:
    from backend.llm.resolve import get_backend

    return get_backend(spec)


def concurrent_spec(backend: ChatBackend) -> bool:
    return bool(getattr(backend, "concurrent_streams", False))


class ParallelStreams:
    """Streams ``requests`` and yields their events as they come; :meth:`stop` ends every stream.

    ``resume`` is called with each serial backend before its first request (a replay goes on
    where the store says the session is).
    """

    def __init__(
        self,
        requests: list[StreamRequest],
        factory: BackendFactory,
        resume: Callable[[ChatBackend, str], None] | None = None,
        fresh: BackendFactory | None = None,
    ) -> None:
        self.requests = requests
        self.factory = factory  # may hand out a cached backend (a GGUF stays loaded): never closed here
        self.fresh = (
            fresh or _new_backend
        )  # the extra backends of concurrent requests: owned, closed by close()
        self.resume = resume or (lambda backend, spec: None)
        self._events: queue.Queue[Event] = queue.Queue()
        self._active: set[Response] = set()   # the calls in flight: Stop cancels each
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._backends: list[ChatBackend] = []

    def stop(self) -> None:
        """Stop every answer in flight (thread-safe); the requests not started yet are not sent."""
        self._stopped.set()
        with self._lock:
            for response in list(self._active):
                response.cancel()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _lanes(self) -> list[tuple[ChatBackend | None, list[StreamRequest]]]:
        """Who runs what: one lane per serial model (its requests in order), one per concurrent request."""
        by_spec: dict[str, list[StreamRequest]] = {}
        for request in self.requests:
            by_spec.setdefault(request.spec, []).append(request)
        lanes: list[tuple[ChatBackend | None, list[StreamRequest]]] = []
        for spec, requests in by_spec.items():
            try:
                first = self.factory(spec)
            except Exception as exc:  # noqa: BLE001 - a model that cannot start fails its own cards only
                message = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
                for request in requests:
                    self._events.put(("done", request.key, StreamResult(request.key, error=message)))
                continue
            if concurrent_spec(first):
                lanes.append((first, requests[:1]))
                lanes.extend((None, [r]) for r in requests[1:])  # each gets its own backend in its thread
            else:
                lanes.append((first, requests))
        return lanes

    def _run_lane(self, backend: ChatBackend | None, requests: list[StreamRequest]) -> None:
        try:
            if backend is None:
                backend = self.fresh(requests[0].spec)
                with self._lock:
                    self._backends.append(backend)
            else:
                self.resume(backend, requests[0].spec)
            for request in requests:
                if self.stopped:
                    self._events.put(("done", request.key, StreamResult(request.key, stopped=True)))
                    continue
                self._events.put(("done", request.key, self._one(backend, request)))
        except Exception as exc:  # noqa: BLE001 - reported on the cards still waiting
            message = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
            for request in requests:
                self._events.put(("done", request.key, StreamResult(request.key, error=message)))

    def _one(self, backend: ChatBackend, request: StreamRequest) -> StreamResult:
        result = StreamResult(request.key)
        chunks: list[str] = []
        response = backend.prompt([{"role": "user", "content": request.prompt}], request.settings)
        with self._lock:
            self._active.add(response)
            if self.stopped:      # a Stop that came before this call was registered
                response.cancel()
        try:
            for chunk in response:
                chunks.append(chunk)
                self._events.put(("chunk", request.key, chunk))
        except Exception as exc:  # noqa: BLE001 - the model's failure is this card's result
            result.error = " ".join(str(exc).split()) or type(exc).__name__
        finally:
            with self._lock:
                self._active.discard(response)
        stats = response.stats
        result.text = "".join(chunks)
        result.stopped = response.cancelled or self.stopped
        result.stop_reason = stats.stop_reason
        result.prompt_tokens = stats.prompt_tokens or None
        result.completion_tokens = stats.completion_tokens or None
        result.ttft_s, result.total_s, result.tokens_per_s = stats.ttft_s, stats.total_s, stats.tokens_per_s
        return result

    def run(self) -> Iterator[Event]:
        """Start every lane and yield ("chunk", key, text) / ("done", key, StreamResult) until all are done."""
        lanes = self._lanes()
        threads = [
            threading.Thread(target=self._run_lane, args=lane, name=f"proposal-lane-{i}", daemon=True)
            for i, lane in enumerate(lanes)
        ]
        for thread in threads:
            thread.start()
        waiting = len(self.requests)
        try:
            while waiting:
                kind, key, payload = self._events.get()
                if kind == "done":
                    waiting -= 1
                yield kind, key, payload
        finally:
            if waiting:  # the caller stopped reading (an error, a closed generator): end the streams
                self.stop()
            for thread in threads:
                thread.join(timeout=30)

    def close(self) -> None:
        """Release the extra backends made for concurrent requests (the factory's own stay with it)."""
        with self._lock:
            backends, self._backends = self._backends, []
        for backend in backends:
            backend.close()
