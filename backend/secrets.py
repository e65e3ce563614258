"""Secrets (API keys, hub tokens) live in the OS keyring, never in the DB, settings, logs or jobs.

On machines without a keyring backend (headless Linux, minimal desktops) we fall back to an
encrypted file (keyrings.alt's encrypted keyring) only when the user has set a password for it
in ``DEEPONES_KEYRING_PASSWORD``; otherwise secrets can still come from environment variables,
and :func:`backend_description` says so plainly.
"""

from __future__ import annotations

import logging
import os
import threading

import keyring
import keyring.backend
import keyring.errors

SERVICE = "deepones"
log = logging.getLogger(__name__)
_lock = threading.Lock()
# Every secret value we have handed out, so the log redaction filter can mask it anywhere.
_known_values: set[str] = set()


class SecretsUnavailable(RuntimeError):
    """No keyring backend is usable; the message tells the user what to do."""


def _is_usable(backend: keyring.backend.KeyringBackend) -> bool:
    try:
        return backend.priority > 0 and type(backend).__module__.split(".")[-1] not in {"fail", "null"}
    except Exception:  # noqa: BLE001 - a broken backend is simply unusable
        return False


def active_backend() -> keyring.backend.KeyringBackend | None:
    backend = keyring.get_keyring()
    if _is_usable(backend):
        return backend
    return None


def backend_description() -> str:
    backend = active_backend()
    if backend is not None:
        return f"{type(backend).__module__}.{type(backend).__name__}"
    return (
        "none (no OS keyring found; secrets are read from environment variables such as OPENAI_API_KEY "
        "and HF_TOKEN, and cannot be stored)"
    )


def remember_secret_value(value: str | None) -> None:
    if value and len(value) >= 4:
        with _lock:
            _known_values.add(value)


def known_secret_values() -> set[str]:
    with _lock:
        return set(_known_values)


def get_secret(name: str, env_fallback: str | None = None) -> str | None:
    """The secret ``name`` from the keyring, else from the environment variable ``env_fallback``."""
    value = None
    backend = active_backend()
    if backend is not None:
        try:
            value = backend.get_password(SERVICE, name)
        except keyring.errors.KeyringError as exc:
            log.warning("keyring lookup failed: %s", type(exc).__name__)
    if value is None and env_fallback:
        value = os.environ.get(env_fallback) or None
    remember_secret_value(value)
    return value


def set_secret(name: str, value: str) -> None:
    backend = active_backend()
    if backend is None:
        raise SecretsUnavailable(
            "No OS keyring is available on this machine, so the secret cannot be stored safely. "
            "Install a keyring service (e.g. GNOME Keyring or KWallet), or provide it through an "
            "environment variable instead."
        )
    backend.set_password(SERVICE, name, value)
    remember_secret_value(value)


def delete_secret(name: str) -> None:
    backend = active_backend()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass
