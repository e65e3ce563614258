"""Secrets (API keys, hub tokens) live in the OS keyring, never in the DB, settings, logs or jobs.

On machines without a usable keyring backend (headless Linux, minimal desktops) secrets are read
from environment variables instead (``OPENAI_API_KEY``, ``HF_TOKEN``), nothing is stored, and
:func:`backend_description` says so plainly. File keyrings that keep secrets in plain text, or
prompt on a terminal, are refused rather than trusted.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from backend.errors import UserError

if TYPE_CHECKING:  # keyring is imported lazily: it costs ~60 ms and log redaction needs none of it
    import keyring.backend

SERVICE = "deepones"
log = logging.getLogger(__name__)
_lock = threading.Lock()
# Every secret value we have handed out, so the log redaction filter can mask it anywhere.
_known_values: set[str] = set()


class SecretsUnavailable(UserError, RuntimeError):
    """No keyring backend is usable; the message tells the user what to do."""


# Backends that are no safe home for a secret: failing/null ones, and file keyrings that keep
# secrets in plain text or prompt on the terminal for a password (useless in a GUI).
_UNSAFE_BACKENDS = {"fail.Keyring", "null.Keyring", "file.PlaintextKeyring", "file.EncryptedKeyring",
                    "Windows.RegistryKeyring"}


def _is_usable(backend: keyring.backend.KeyringBackend) -> bool:
    try:
        name = f"{type(backend).__module__.split('.')[-1]}.{type(backend).__name__}"
        if name in _UNSAFE_BACKENDS:
            return False
        chained = getattr(backend, "backends", None)
        if chained is not None:  # keyring's ChainerBackend: usable if any link is
            return any(_is_usable(b) for b in chained)
        return backend.priority > 0
    except Exception:  # noqa: BLE001 - a broken backend is simply unusable
        return False


def active_backend() -> keyring.backend.KeyringBackend | None:
    import keyring

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


# The environment variables the app reads secrets from when no keyring holds them. At start the app
# moves them from its environment into this dict (:func:`harden_app_process`): children inherit none
# of them unless the app hands them over on purpose (:func:`app_child_environment`).
FALLBACK_VARIABLES = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
_env_secrets: dict[str, str] = {}


def take_environment_secrets() -> list[str]:
    """Move the fallback secrets out of ``os.environ`` into memory; returns the names moved."""
    moved = []
    with _lock:
        for name in FALLBACK_VARIABLES:
            value = os.environ.pop(name, None)
            if value:
                _env_secrets[name] = value
                _known_values.add(value)
                moved.append(name)
    return moved


def environment_secret(name: str) -> str | None:
    """A fallback secret: from the environment, else from what :func:`take_environment_secrets` kept."""
    value = os.environ.get(name)
    if value:
        return value
    with _lock:
        return _env_secrets.get(name)


def app_child_environment() -> dict[str, str]:
    """The environment for a child that is the app itself (``deepones chat`` run by the wizard): it needs
    the keys the user started the app with. Never for jobs: they get an allow-list."""
    env = dict(os.environ)
    with _lock:
        env.update(_env_secrets)
    return env


def harden_app_process() -> dict[str, object]:
    """At start of the app (GUI or CLI): no same-user process (a job's program included) may read this
    process's ``/proc/PID/environ`` or memory (``PR_SET_DUMPABLE 0``; ``os.environ`` edits do not change
    what /proc shows, this does), and the fallback keys leave the environment for memory."""
    from backend.jobs.confine import set_non_dumpable

    return {"non_dumpable": set_non_dumpable(), "moved": take_environment_secrets()}


def get_secret(name: str, env_fallback: str | None = None) -> str | None:
    """The secret ``name`` from the keyring, else from the environment variable ``env_fallback``."""
    value = None
    backend = active_backend()
    if backend is not None:
        try:
            value = backend.get_password(SERVICE, name)
        except Exception as exc:  # noqa: BLE001 - any keyring failure falls back to the environment
            log.warning("keyring lookup failed: %s", type(exc).__name__)
    if value is None and env_fallback:
        value = environment_secret(env_fallback)
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
    import keyring.errors

    try:
        backend.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass
