"""Local GGUF models through llama-cpp-python, in-process on a worker thread.

Specs: ``embedded`` (the bundled SmolLM2), ``gguf:PATH``, a path to a ``.gguf`` file, or the
name of a model the model manager lists (file name or ``repo_id/file``). Options:
``n_gpu_layers`` (default: the suggestion for the detected GPU, 0 without one), ``chat_format``
(a llama-cpp-python chat format name overriding the GGUF's own template), ``n_threads``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from backend.hookspecs import hookimpl
from backend.llm.base import BackendError, ChatBackend, GenerationSettings, Message
from backend.llm.catalog import resolve_model_path

log = logging.getLogger(__name__)
GPU_LAYERS_AUTO = None


class LlamaBackend(ChatBackend):
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
        self.model = None  # LoadedModel once loaded

    # -- loading -------------------------------------------------------------------------------
    def _gpu_layers(self, n_ctx: int) -> int:
        if self.n_gpu_layers is not None:
            return self.n_gpu_layers
        from backend.llm.local_models import gguf_info
        from backend.llm.memory import auto_gpu_layers

        return auto_gpu_layers(gguf_info(self.path), n_ctx)

    def ensure_loaded(self, settings: GenerationSettings | None = None):
        """Load (or reuse) the model for ``settings.context_size``; returns the LoadedModel."""
        from backend.llm.local_models import load_model

        n_ctx = (settings or GenerationSettings()).context_size
        trained = self.info.context_length
        if trained:
            n_ctx = min(n_ctx, trained)
        if self.model is None or self.model.n_ctx != n_ctx:
            self.model = load_model(self.path, n_ctx, self._gpu_layers(n_ctx), self.n_threads)
        return self.model

    @property
    def info(self):
        from backend.llm.local_models import gguf_info

        return gguf_info(self.path)

    # -- ChatBackend ---------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        if self.model is None:
            return super().count_tokens(text)
        return len(self.model.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def fit_context(self, messages: list[Message], settings: GenerationSettings):
        from backend.llm.context_window import fit_messages

        model = self.ensure_loaded(settings)  # the real context size and tokenizer
        return fit_messages(messages, model.n_ctx, settings.max_tokens, self.count_tokens)

    def _generate(self, messages: list[Message], settings: GenerationSettings) -> Iterator[str]:
        model = self.ensure_loaded(settings)
        llama = model.llama
        with model.lock:
            previous_format = llama.chat_format
            if self.chat_format:
                llama.chat_format = self.chat_format
            completion = 0
            try:
                stream = llama.create_chat_completion(
                    messages=messages,
                    stream=True,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    max_tokens=settings.max_tokens,
                    seed=settings.seed,
                    stop=list(settings.stop) or None,
                )
                try:
                    for chunk in stream:
                        text = chunk["choices"][0]["delta"].get("content")
                        if text:
                            completion += 1
                            yield text
                finally:
                    stream.close()
            except BackendError:
                raise
            except Exception as exc:  # noqa: BLE001 - llama.cpp errors become a message, the model stays loaded
                raise BackendError(f"The local model failed while answering: {exc}") from exc
            finally:
                llama.chat_format = previous_format
                self.last_stats.completion_tokens = completion
                self.last_stats.prompt_tokens = max(0, int(llama.n_tokens) - completion)

    def close(self) -> None:
        self.model = None  # the shared cache keeps (or releases) the weights


@hookimpl
def register_backends(register):
    register("embedded", LlamaBackend)
    register("gguf:", LlamaBackend)
    # Fallback for everything no other prefix claims: paths to .gguf files and model names.
    register("", LlamaBackend)
