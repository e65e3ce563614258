import logging

import keyring
import pytest

from backend import logsetup, secrets


def test_secret_round_trip_through_keyring(memory_keyring):
    secrets.set_secret("openai", "sk-abcdefghijklmnop")
    assert secrets.get_secret("openai") == "sk-abcdefghijklmnop"
    assert memory_keyring.store[("deepones", "openai")] == "sk-abcdefghijklmnop"
    secrets.delete_secret("openai")
    assert secrets.get_secret("openai") is None


def test_no_keyring_backend_says_so(monkeypatch):
    import keyring.backends.fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    assert secrets.backend_description().startswith("none")
    with pytest.raises(secrets.SecretsUnavailable, match="No OS keyring"):
        secrets.set_secret("x", "y")
    monkeypatch.setenv("MY_TOKEN_FOR_TEST", "value-from-env-123")
    assert secrets.get_secret("x", env_fallback="MY_TOKEN_FOR_TEST") == "value-from-env-123"


def test_log_file_redacts_secret_values(tmp_path, memory_keyring):
    path = logsetup.setup_logging(tmp_path)
    secrets.set_secret("custom", "plainlooking-secret-value")
    logging.getLogger("t").warning("key is %s and sk-zzzzzzzzzzzzzzzz", "plainlooking-secret-value")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text()
    assert "plainlooking-secret-value" not in text
    assert "sk-zzzzzzzzzzzzzzzz" not in text
    assert text.count("[redacted]") == 2


def test_plaintext_file_keyring_is_not_trusted_with_secrets(monkeypatch):
    alt = pytest.importorskip("keyrings.alt.file")
    monkeypatch.setattr(keyring, "get_keyring", lambda: alt.PlaintextKeyring())
    assert secrets.active_backend() is None
    with pytest.raises(secrets.SecretsUnavailable):
        secrets.set_secret("openai", "sk-should-never-be-written")
