"""Local GGUF models through llama-cpp-python, in a supervised worker process.

Specs: ``embedded`` (the bundled SmolLM2), ``gguf:PATH``, a path to a ``.gguf`` file, or the
name of a model the model manager lists (file name or ``repo_id/file``). Options:
``n_gpu_layers`` (default: the suggestion for the detected GPU, 0 without one), ``chat_format``
(a llama-cpp-python chat format name overriding the GGUF's own template), ``n_threads``.

The model itself lives in a worker process (:mod:`backend.llm.worker`): a native crash in
llama.cpp raises :class:`~backend.llm.worker.ModelProcessCrashed` here instead of killing the
caller, and the next request starts a fresh worker.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator

from backend.llm.base import ChatBackend, GenerationSettings, Message, Response
from backend.llm.catalog import resolve_model_path
from backend.llm.degenerate import default_repeat_penalty

log = logging.getLogger(__name__)
GPU_LAYERS_AUTO = None


class LlamaBackend(ChatBackend):
    kind = "local"

    def __init__(self, spec: str, *, n_gpu_layers: int | None = GPU_LAYERS_AUTO, chat_format: str | None = None,
                 n_threads: int | None = None, **_options) -> None:
        super().__init__()
        self.spec = spec or "embedded"
        self.path = resolve_model_path(self.spec)
        from backend.llm.gguf_info import check_header

        check_header(self.path)  # cheap (64 bytes): a text file or empty file fails right here, clearly
        self.n_gpu_layers = n_gpu_layers
        self.chat_format = chat_format or None
        self.n_threads = n_threads
        self.worker = None  # WorkerClient once loaded
        # The last answer's time to first token inside the worker (prompt evaluation), without the transport.
        self.last_worker_ttft_s: float | None = None

    # -- loading -------------------------------------------------------------------------------
    def ensure_loaded(self, settings: GenerationSettings | None = None, cancel: threading.Event | None = None):
        """The warm worker process holding this model for ``settings.context_size`` (started if needed).

        Setting ``cancel`` while the model loads stops the load (:class:`~backend.llm.base.Cancelled`)."""
        from backend.llm.worker.client import get_worker

        n_ctx = (settings or GenerationSettings()).context_size
        trained = self.info.context_length  # header checks (BadModelFile) before any process starts
        if trained:
            n_ctx = min(n_ctx, trained)
        # n_gpu_layers None = the suggestion for the detected GPU, worked out inside the worker, so
        # this process never loads llama.cpp or NVML.
        self.worker = get_worker(self.path, n_ctx, self.n_gpu_layers, self.n_threads, cancel=cancel)
        return self.worker

    @property
    def info(self):
        from backend.llm.local_models import gguf_info

        return gguf_info(self.path)

    def call(self, target: str, *args, settings: GenerationSettings | None = None):
        """Run ``target`` ("package.module:function") as ``function(llama, *args)`` in the model's
        worker; returns its JSON-able result (see :mod:`backend.llm.worker`). Without ``settings``
        the worker this backend already uses is reused (else one for the default settings)."""
        worker = self.worker
        if settings is not None or worker is None or not worker.alive:
            worker = self.ensure_loaded(settings)
        return worker.call(target, *args)

    # -- ChatBackend ---------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        worker = self.worker
        if worker is None or not worker.alive:
            return super().count_tokens(text)
        return worker.call("backend.llm.worker.calls:count_tokens", [text])[0]

    def _prepare(self, response: Response) -> None:
        self.ensure_loaded(response.settings, cancel=response.cancel_event)   # a load Stop can interrupt

    def fit_context(self, messages: list[Message], settings: GenerationSettings):
        # One round trip: the worker counts with the model's tokenizer and real context size.
        kept, dropped = self.call("backend.llm.worker.calls:fit_messages", messages, settings.max_tokens,
                                  settings=settings)
        return kept, dropped

    def _generate(self, messages: list[Message], settings: GenerationSettings, response: Response) -> Iterator[str]:
        if settings.repeat_penalty is None:  # the per-model default: small models loop without one
            settings = dataclasses.replace(settings, repeat_penalty=default_repeat_penalty(self._size()))
        worker = self.ensure_loaded(settings, cancel=response.cancel_event)
        usage: dict = {}
        completion = 0
        try:
            for text in worker.generate(messages, settings, self.chat_format, response.cancel_event, usage):
                completion += 1
                yield text
        finally:
            response.stats.completion_tokens = usage.get("completion_tokens", completion)
            response.stats.prompt_tokens = usage.get("prompt_tokens", 0)
            response.stats.worker_ttft_s = usage.get("first_token_s")
            self.last_worker_ttft_s = response.stats.worker_ttft_s

    def _size(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def close(self) -> None:
        self.worker = None  # the pool keeps (or stops) the worker
