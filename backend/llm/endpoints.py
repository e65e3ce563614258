"""OpenAI-compatible endpoint specs: ``URL#MODEL``, with the API key kept in the OS keyring.

A spec is the endpoint's base URL (the part before ``/chat/completions``), then ``#`` and the
model name, e.g. ``http://127.0.0.1:8080/v1#smollm2`` or ``https://api.openai.com/v1#gpt-4o-mini``.
Without ``#MODEL`` the endpoint's first listed model is used (fine for single-model servers such
as llama.cpp's or LM Studio's). The key is stored per host in the keyring as ``api-key:HOST``;
``OPENAI_API_KEY`` in the environment is the fallback. Keys never appear in specs, the DB or logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from backend import secrets
from backend.llm.base import BackendError

KEY_ENV_FALLBACK = "OPENAI_API_KEY"


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str      # "" = ask the server

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def spec(self) -> str:
        return f"{self.base_url}#{self.model}" if self.model else self.base_url


def parse_endpoint(spec: str) -> Endpoint:
    url, _, model = spec.strip().partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"{spec!r} is not an endpoint URL. Use e.g. http://127.0.0.1:8080/v1#model-name.",
                           retryable=False)
    if parts.username or parts.password or parts.query:
        # A key pasted into the URL would end up in settings and the DB: refuse it.
        raise BackendError("Put API keys in the model manager's key field (stored in the OS keyring), "
                           "not in the endpoint URL.", retryable=False)
    return Endpoint(url.rstrip("/"), model.strip())


def key_name(endpoint: Endpoint) -> str:
    return f"api-key:{endpoint.host}"


def api_key_for(endpoint: Endpoint) -> str | None:
    return secrets.get_secret(key_name(endpoint), env_fallback=KEY_ENV_FALLBACK)


def store_api_key(endpoint: Endpoint, key: str) -> None:
    secrets.set_secret(key_name(endpoint), key)
