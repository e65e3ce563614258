"""The canary: default settings that crash llama.cpp (simulated AMX fault) lead to use_extra_bufts=False,
remembered per machine and model, and reported by ``deepones doctor --json``."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from backend.llm.base import GenerationSettings, complete
from backend.llm.resolve import get_backend
from backend.llm.worker import safe_mode
from backend.llm.worker.faults import ENV as FAULT_ENV
from tests.worker.conftest import QUESTION

GREEDY = GenerationSettings(temperature=0.0, max_tokens=12, context_size=1024)


def test_a_canary_crash_under_default_settings_falls_back_to_no_extra_bufts(fresh_workers, monkeypatch, smollm2):
    monkeypatch.setenv(FAULT_ENV, "canary")   # any process with llama.cpp's default settings segfaults
    backend = get_backend("embedded")
    assert complete(backend, QUESTION, GREEDY)   # answers, in safe mode
    record = safe_mode.recorded(smollm2)
    assert record["safe_mode"] is True and record["settings"] == {"use_extra_bufts": False}
    assert "default settings: SIGSEGV" in record["reason"]
    assert backend.worker.spec.use_extra_bufts is False
    facts = backend.call("backend.llm.worker.calls:model_facts", settings=GREEDY)
    assert facts["use_extra_bufts"] is False   # really set on llama.cpp's model parameters

    # The store survives the process: a fresh start skips the canary and loads safely at once.
    from backend.llm.worker.client import unload

    unload()
    calls = []
    with monkeypatch.context() as patched:
        patched.setattr(safe_mode, "run_canary", lambda *a, **k: calls.append(a) or {"ok": False})
        assert complete(get_backend("embedded"), QUESTION, GREEDY)
    assert calls == []

    result = CliRunner().invoke(__import__("backend.cli", fromlist=["cli"]).cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    safe = report["llama_cpp"]["safe_mode"]
    assert safe["active"] is True
    assert safe["models"][smollm2.name]["settings"] == {"use_extra_bufts": False}
    assert "SIGSEGV" in safe["models"][smollm2.name]["reason"]
    canary = report["canary"]
    assert canary["ok"] is True and canary["tokens_per_s"] > 0 and canary["safe_mode"] is True


def test_doctor_canary_reports_tokens_per_s_on_a_healthy_machine(monkeypatch):
    monkeypatch.delenv(FAULT_ENV, raising=False)
    from backend.doctor import report

    rep = report()
    assert rep["canary"]["ok"] is True and rep["canary"]["tokens_per_s"] > 0
    assert rep["canary"]["settings"] == {"use_extra_bufts": True}
    assert rep["llama_cpp"]["safe_mode"]["active"] is False


def test_every_variant_crashing_is_one_clear_error(monkeypatch, tmp_path, smollm2):
    monkeypatch.setattr(safe_mode, "run_canary",
                        lambda path, settings, tokens=8: {"ok": False, "settings": settings, "signal": "SIGILL",
                                                          "error": "crashed with SIGILL"})
    import pytest

    from backend.llm.base import BackendError

    with pytest.raises(BackendError, match="crashes llama.cpp on this machine with every setting tried") as info:
        safe_mode.probe(smollm2)
    assert str(info.value).count("SIGILL") == len(safe_mode.VARIANTS)
    assert safe_mode.recorded(smollm2) is None


def test_a_file_llama_cpp_refuses_is_not_a_cpu_problem(tmp_path, smollm2):
    import pytest

    from backend.llm.base import BackendError
    from tests.chat.conftest import write_tiny_gguf

    tiny = write_tiny_gguf(tmp_path / "tiny.gguf")   # well-formed header, not a loadable model
    with pytest.raises(BackendError, match="llama.cpp could not"):
        safe_mode.probe(tiny)
    assert safe_mode.recorded(tiny) is None
    assert os.environ.get(FAULT_ENV) is None
