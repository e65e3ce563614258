"""Any OpenAI-compatible HTTP endpoint (OpenAI, vLLM, Ollama, LM Studio, llama.cpp's server).

Spec: ``http(s)://HOST[:PORT]/PATH#MODEL`` (see :mod:`backend.llm.endpoints`). Failures become
:class:`BackendError` messages that say what to do: unreachable, key rejected (401/403), rate
limited (429), timed out, unknown model.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from backend.llm.base import BackendError, ChatBackend, GenerationSettings, Message, Response
from backend.llm.endpoints import api_key_for, parse_endpoint

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 60.0         # per read: the longest silence between two pieces of the answer
DEFAULT_TOTAL_TIMEOUT_S = 1800.0  # the whole answer: a server dripping keep-alive bytes resets the per-read
                                  # timer forever, so a call also ends at this deadline
NO_KEY = "no-key"  # local servers need none, but the client insists on a value


def _friendly(exc: BaseException, endpoint) -> BackendError:
    import openai

    where = endpoint.base_url
    if isinstance(exc, BackendError):   # already says what to do (a key refused to plain http, ...)
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"{where} did not answer in time (timeout). The server may be busy; try again.")
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"Cannot reach {where}: is the server running and the address right? "
                            f"({type(exc.__cause__ or exc).__name__})")
    if isinstance(exc, openai.AuthenticationError):
        return BackendError(f"{where} rejected the API key (401). Set the key for {endpoint.host} in the "
                            "model manager (it is kept in the OS keyring).", retryable=False)
    if isinstance(exc, openai.PermissionDeniedError):
        return BackendError(f"{where} refused access (403): this key may not use model "
                            f"{endpoint.model or '(default)'}.", retryable=False)
    if isinstance(exc, openai.RateLimitError):
        return BackendError(f"{where} is rate limiting requests (429). Wait a moment, then Retry.")
    if isinstance(exc, openai.NotFoundError):
        return BackendError(f"{where} does not know model {endpoint.model!r} (404). Check the name after '#'.",
                            retryable=False)
    if isinstance(exc, openai.APIStatusError):
        return BackendError(f"{where} answered with an error ({exc.status_code}): {exc.message}")
    return BackendError(f"{where}: {type(exc).__name__}: {exc}")


class OpenAIBackend(ChatBackend):
    kind = "endpoint"
    concurrent_streams = True   # the server batches or queues requests itself

    def __init__(self, spec: str, *, timeout: float = DEFAULT_TIMEOUT_S, max_retries: int = 0,
                 total_timeout: float = DEFAULT_TOTAL_TIMEOUT_S, **_options) -> None:
        super().__init__()
        self.endpoint = parse_endpoint(spec)
        self.spec = self.endpoint.spec
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_retries = max_retries
        self._client = None
        self._model = self.endpoint.model

    def _client_or_make(self):
        if self._client is None:
            import openai

            self._client = openai.OpenAI(base_url=self.endpoint.base_url, api_key=api_key_for(self.endpoint) or NO_KEY,
                                         timeout=self.timeout, max_retries=self.max_retries)
        return self._client

    def model_name(self) -> str:
        """The model to ask for: the spec's, else the server's first listed model."""
        if not self._model:
            try:
                models = self._client_or_make().models.list()
                first = next(iter(models), None)
            except Exception as exc:
                raise _friendly(exc, self.endpoint) from exc
            if first is None:
                raise BackendError(f"{self.endpoint.base_url} lists no models; add '#model-name' to the address.",
                                   retryable=False)
            self._model = first.id
        return self._model

    def fit_context(self, messages: list[Message], settings: GenerationSettings):
        """Leave out old turns by a token estimate against the chosen context size; the server has the
        last word on its real limit, so an over-long last message is sent anyway (it answers clearly)."""
        from backend.llm.context_window import fit_messages

        try:
            return fit_messages(messages, settings.context_size, settings.max_tokens, self.count_tokens)
        except BackendError:
            return messages, 0

    def _generate(self, messages: list[Message], settings: GenerationSettings, response: Response) -> Iterator[str]:
        client = self._client_or_make()
        model = self.model_name()
        kwargs = dict(model=model, messages=messages, stream=True, temperature=settings.temperature,
                      top_p=settings.top_p, max_tokens=settings.max_tokens)
        if settings.seed is not None:
            kwargs["seed"] = settings.seed
        if settings.stop:
            kwargs["stop"] = list(settings.stop)
        if settings.json_schema:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": settings.json_schema}}
        stream = None
        chunks = 0
        expired = threading.Event()

        def expire() -> None:
            # From the timer's thread: closing the response (or, before it exists, the client's
            # connections) makes the blocked read in the generating thread fail at its next byte.
            expired.set()
            with contextlib.suppress(Exception):
                (stream or client).close()

        deadline = threading.Timer(self.total_timeout, expire)
        deadline.daemon = True
        deadline.start()
        try:
            stream = client.chat.completions.create(**kwargs)
            if expired.is_set():
                stream.close()
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    response.stats.prompt_tokens = chunk.usage.prompt_tokens or 0
                    response.stats.completion_tokens = chunk.usage.completion_tokens or 0
                if not chunk.choices:
                    continue
                text = chunk.choices[0].delta.content
                if text:
                    chunks += 1
                    yield text
                if response.cancelled:
                    break
            if expired.is_set():   # a closed response may just end: never pass a cut answer off as whole
                raise self._past_deadline()
        except BackendError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            if expired.is_set():
                raise self._past_deadline() from exc
            raise _friendly(exc, self.endpoint) from exc
        finally:
            deadline.cancel()
            if expired.is_set():
                self._client = None   # its connections were closed under it
            if stream is not None:
                stream.close()  # stop: close the HTTP response so the server stops generating
            if not response.stats.completion_tokens:
                response.stats.completion_tokens = chunks

    def _past_deadline(self) -> BackendError:
        return BackendError(f"{self.endpoint.base_url} gave no complete answer within {self.total_timeout:g} s "
                            "(the connection stayed open, but the answer did not arrive); stopped waiting. "
                            "Try again, or check the server.")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
