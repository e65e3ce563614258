"""OpenAI-compatible endpoint specs: ``URL#MODEL``, with the API key kept in the OS keyring.

A spec is the endpoint's base URL (the part before ``/chat/completions``), then ``#`` and the
model name, e.g. ``http://127.0.0.1:8080/v1#smollm2`` or ``https://api.openai.com/v1#gpt-4o-mini``.
Without ``#MODEL`` the endpoint's first listed model is used (fine for single-model servers such
as llama.cpp's or LM Studio's). The key is stored per host in the keyring as ``api-key:HOST``;
``OPENAI_API_KEY`` in the environment is the fallback. Keys never appear in specs, the DB or logs.

Where a key may go (a spec can come from a shared trace file, so it is not trusted to pick a host):
a stored key only to the host it was stored for; the ``OPENAI_API_KEY`` fallback only to the
official API host or a host the user confirmed once (:func:`confirm_env_key_host`); and no key ever
over plain http to a host that is not this machine (loopback).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from backend import secrets
from backend.llm.base import BackendError

KEY_ENV_FALLBACK = "OPENAI_API_KEY"
OFFICIAL_HOSTS = frozenset({"api.openai.com"})
CONFIRMED_HOSTS_SETTING = "env_key_hosts"   # in Settings.extra: hosts confirmed for the OPENAI_API_KEY fallback


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str      # "" = ask the server

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def hostname(self) -> str:
        return (urlsplit(self.base_url).hostname or "").lower()

    @property
    def plain_http(self) -> bool:
        return urlsplit(self.base_url).scheme == "http"

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


def is_loopback(hostname: str) -> bool:
    if hostname in ("localhost", "localhost.localdomain") or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def confirmed_env_key_hosts() -> set[str]:
    from backend.settings import load_settings

    hosts = load_settings().extra.get(CONFIRMED_HOSTS_SETTING, [])
    return {str(h).lower() for h in hosts} if isinstance(hosts, list) else set()


def confirm_env_key_host(host: str) -> None:
    """The user's once-only confirmation that ``OPENAI_API_KEY`` may be sent to ``host``."""
    from backend.settings import load_settings, save_settings

    settings = load_settings()
    hosts = settings.extra.get(CONFIRMED_HOSTS_SETTING)
    hosts = list(hosts) if isinstance(hosts, list) else []
    if host.lower() not in hosts:
        hosts.append(host.lower())
    settings.extra[CONFIRMED_HOSTS_SETTING] = hosts
    save_settings(settings)


def env_key_allowed(endpoint: Endpoint) -> bool:
    """Whether the ``OPENAI_API_KEY`` fallback may go to this endpoint's host."""
    return endpoint.hostname in OFFICIAL_HOSTS or endpoint.hostname in confirmed_env_key_hosts()


def api_key_for(endpoint: Endpoint) -> str | None:
    """The key to send to ``endpoint``, or None to send none (see the module's rules).

    Raises BackendError when a key exists for it but would travel in clear text to another machine.
    """
    key = secrets.get_secret(key_name(endpoint))   # stored for exactly this host
    if key is None and env_key_allowed(endpoint):
        key = secrets.get_secret(key_name(endpoint), env_fallback=KEY_ENV_FALLBACK)
    if key and endpoint.plain_http and not is_loopback(endpoint.hostname):
        raise BackendError(f"Not sending the API key for {endpoint.host} over plain http: it would cross the "
                           "network unencrypted. Use its https:// address.", retryable=False)
    return key


def store_api_key(endpoint: Endpoint, key: str) -> None:
    secrets.set_secret(key_name(endpoint), key)
