"""OpenAI-compatible endpoints for Generate: concurrent async requests with retries and backoff.

One ``openai.AsyncOpenAI`` client per run; a semaphore caps the requests in flight
(``concurrency``). Each request has its own timeout; 429s, 5xx answers, timeouts and dropped
connections are retried with exponential backoff (honouring ``Retry-After`` up to a cap), other
errors (401, 404, a bad request) are not. Structured output: ``response_format`` json_schema
(OpenAI, vLLM, llama.cpp's C++ server); a server that refuses it (400/422) is asked with the
llama-cpp-python / Anyscale form ``{"type": "json_object", "schema": ...}``, then with none (the
pipeline validates and retries in every case), and the form that worked is kept for the run.
"""

from __future__ import annotations

import asyncio
import logging
import random

from backend.generate.structured import Answer, AnswerError, AskRequest
from backend.llm.base import GenerationSettings
from backend.llm.endpoints import api_key_for, parse_endpoint

log = logging.getLogger(__name__)
NO_KEY = "no-key"
RETRY_AFTER_CAP_S = 30.0
FORMATS = ("json_schema", "json_object", "none")


def _response_format(kind: str, request: AskRequest) -> dict | None:
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": request.step.split(":")[0], "schema": request.schema},
        }
    if kind == "json_object":
        return {"type": "json_object", "schema": request.schema}
    return None


class EndpointAnswerer:
    def __init__(
        self,
        spec: str,
        *,
        concurrency: int = 4,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        settings: GenerationSettings | None = None,
    ) -> None:
        self.endpoint = parse_endpoint(spec)
        self.model = self.endpoint.spec
        self.concurrency = max(1, int(concurrency))
        self.timeout_s = timeout_s
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = backoff_s
        self.settings = settings or GenerationSettings(temperature=0.2, max_tokens=1024)
        self.format_index = 0
        self.retries = 0  # requests sent again (429, 5xx, timeouts), for the run's report
        self._client = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._model_name = self.endpoint.model
        self._random = random.Random(0)  # jitter; seeded so a test's timing is reproducible

    def _client_or_make(self):
        # The client and the semaphore belong to one event loop: a caller that runs each paper
        # with its own asyncio.run (process_paper in a Ray task) gets fresh ones per loop.
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is not loop:
            self._client = None
        self._loop = loop
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                base_url=self.endpoint.base_url,
                api_key=api_key_for(self.endpoint) or NO_KEY,
                timeout=self.timeout_s,
                max_retries=0,
            )
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._client

    async def _model(self) -> str:
        if not self._model_name:
            try:
                models = await self._client_or_make().models.list()
            except Exception as exc:
                raise AnswerError(
                    f"{self.endpoint.base_url}: cannot list models ({type(exc).__name__}); "
                    "add '#model-name' to the address"
                ) from exc
            first = next(iter(models.data), None)
            if first is None:
                raise AnswerError(
                    f"{self.endpoint.base_url} lists no models; add '#model-name' to the address"
                )
            self._model_name = first.id
        return self._model_name

    def _delay(self, attempt: int, exc: BaseException) -> float:
        after = None
        response = getattr(exc, "response", None)
        if response is not None:
            try:
                after = float(response.headers.get("retry-after"))
            except (TypeError, ValueError):
                after = None
        if after is not None:
            return min(max(after, 0.0), RETRY_AFTER_CAP_S)
        return self.backoff_s * (2**attempt) * (0.75 + 0.5 * self._random.random())

    async def ask(self, request: AskRequest) -> Answer:
        import openai

        client = self._client_or_make()
        model = await self._model()
        assert self._semaphore is not None
        attempt = 0
        while True:
            kind = FORMATS[self.format_index]
            kwargs = dict(
                model=model,
                messages=request.messages,
                temperature=self.settings.temperature,
                top_p=self.settings.top_p,
                max_tokens=self.settings.max_tokens,
            )
            fmt = _response_format(kind, request)
            if fmt is not None:
                kwargs["response_format"] = fmt
            if self.settings.seed is not None:
                kwargs["seed"] = self.settings.seed
            try:
                async with self._semaphore:
                    response = await self._create(client, kwargs)
            except openai.APIStatusError as exc:
                # A server that does not take this structured-output form says so in a 400/422, or
                # (llama-cpp-python's server: its request validation error) in a 500 naming the field.
                refused_format = (
                    exc.status_code in (400, 422, 500)
                    and "response_format" in str(exc).lower()
                    or exc.status_code == 422
                )
                if fmt is not None and refused_format and self.format_index < len(FORMATS) - 1:
                    self.format_index = max(self.format_index, FORMATS.index(kind) + 1)
                    log.info(
                        "%s refused response_format %s; using %s",
                        self.endpoint.base_url,
                        kind,
                        FORMATS[self.format_index],
                    )
                    continue
                if not isinstance(exc, openai.RateLimitError | openai.InternalServerError):
                    raise AnswerError(
                        f"{self.endpoint.base_url} refused the request ({exc.status_code}): {str(exc)[:200]}"
                    ) from exc
                if attempt >= self.max_retries:
                    raise AnswerError(self._why(exc) + f" (gave up after {attempt + 1} tries)") from exc
                attempt += 1
                self.retries += 1
                await asyncio.sleep(self._delay(attempt - 1, exc))
                continue
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if attempt >= self.max_retries:
                    raise AnswerError(self._why(exc) + f" (gave up after {attempt + 1} tries)") from exc
                attempt += 1
                self.retries += 1
                await asyncio.sleep(self._delay(attempt - 1, exc))
                continue
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content if choice and choice.message else None) or ""
            usage = response.usage
            return Answer(
                text, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
            )

    async def _create(self, client, kwargs: dict):
        """One request as sent (the benchmark records these to replay them with a bare client)."""
        return await client.chat.completions.create(**kwargs)

    def _why(self, exc: BaseException) -> str:
        import openai

        where = self.endpoint.base_url
        if isinstance(exc, openai.APITimeoutError):
            return f"{where} did not answer within {self.timeout_s:g} s (timeout)"
        if isinstance(exc, openai.RateLimitError):
            return f"{where} kept rate limiting (429)"
        if isinstance(exc, openai.InternalServerError):
            return f"{where} kept failing ({exc.status_code})"
        return f"cannot reach {where} ({type(exc.__cause__ or exc).__name__})"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
