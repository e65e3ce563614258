"""``deepones chat`` and ``deepones model`` through click, with the real embedded model."""

from __future__ import annotations

import json

from click.testing import CliRunner

from backend.cli import cli


def test_chat_streams_the_default_designer_the_embedded_smollm2():
    result = CliRunner().invoke(cli, ["chat", "Name one activation function.", "--max-tokens", "8",
                                      "--temperature", "0", "--stats"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() and "TTFT" in result.stderr


def test_chat_with_a_replay_model(tmp_path):
    replay = tmp_path / "r.jsonl"
    replay.write_text(json.dumps({"content": "Use a ResNet-18."}) + "\n")
    result = CliRunner().invoke(cli, ["chat", "hi", "--model", f"replay:{replay}", "--system", ""])
    assert result.exit_code == 0 and result.stdout == "Use a ResNet-18.\n"


def test_chat_with_a_bad_model_is_one_clear_line(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_text("not a model")
    result = CliRunner().invoke(cli, ["chat", "hi", "--model", str(bad)])
    assert result.exit_code == 2
    assert "not a GGUF model file" in result.stderr and "Traceback" not in result.output


def test_model_list_info_and_set_default(smollm2):
    from backend.settings import load_settings

    listed = json.loads(CliRunner().invoke(cli, ["model", "list", "--json"]).stdout)
    assert listed[0]["spec"] == "embedded" and listed[0]["path"] == str(smollm2)
    info = CliRunner().invoke(cli, ["model", "info", "embedded", "--json", "-c", "2048"])
    data = json.loads(info.stdout)
    assert data["quantization"] == "Q4_1" and data["memory"]["kv_cache_bytes"] == 30 * 2048 * 3 * 128 * 2
    assert CliRunner().invoke(cli, ["model", "set-default", "programmer", "http://127.0.0.1:9/v1#m"]).exit_code == 0
    assert load_settings().programmer_model == "http://127.0.0.1:9/v1#m"


def test_model_quantize_and_pull_offline(smollm2, tmp_path, monkeypatch):
    out = tmp_path / "q.gguf"
    result = CliRunner().invoke(cli, ["model", "quantize", str(smollm2), str(out), "--type", "Q8_0"])
    assert result.exit_code == 0, result.output
    assert "Q8_0" in result.stdout and out.exists()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pulled = CliRunner().invoke(cli, ["model", "pull", "someone/Missing-GGUF", "*.gguf"])
    assert pulled.exit_code == 2 and "Offline" in pulled.stderr
