"""settings.json keeps what this version does not know: a downgrade followed by a save loses nothing."""

from __future__ import annotations

import dataclasses
import json

from click.testing import CliRunner

from backend.settings import load_settings, save_settings, settings_path

# As a newer version might write it: known keys plus keys (and a nested object) this one lacks.
NEWER = {"designer_model": "embedded", "jobs_per_gpu": 2, "theme": "dark",
         "telemetry": {"enabled": False, "since": "2027-01-01"}, "unknown": [1, 2]}


def test_unknown_keys_survive_load_and_save(deepones_home):
    path = settings_path(deepones_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(NEWER), "utf-8")
    settings = load_settings(deepones_home)
    assert settings.jobs_per_gpu == 2 and settings.unknown == {k: NEWER[k] for k in ("theme", "telemetry", "unknown")}
    save_settings(dataclasses.replace(settings, designer_model="replay:/tmp/r.jsonl"), deepones_home)
    saved = json.loads(path.read_text("utf-8"))
    assert saved["designer_model"] == "replay:/tmp/r.jsonl"      # the change is kept ...
    assert {k: saved[k] for k in ("theme", "telemetry", "unknown", "jobs_per_gpu")} == {
        "theme": "dark", "telemetry": {"enabled": False, "since": "2027-01-01"}, "unknown": [1, 2], "jobs_per_gpu": 2}
    again = load_settings(deepones_home)
    assert again.designer_model == "replay:/tmp/r.jsonl" and again.unknown == settings.unknown


def test_the_cli_changing_a_default_keeps_unknown_keys(deepones_home):
    from backend.cli import cli

    settings_path(deepones_home).parent.mkdir(parents=True, exist_ok=True)
    settings_path(deepones_home).write_text(json.dumps(NEWER), "utf-8")
    result = CliRunner().invoke(cli, ["model", "set-default", "programmer", "http://127.0.0.1:9/v1#m"])
    assert result.exit_code == 0, result.output
    saved = json.loads(settings_path(deepones_home).read_text("utf-8"))
    assert saved["programmer_model"] == "http://127.0.0.1:9/v1#m"
    assert saved["theme"] == "dark" and saved["telemetry"] == NEWER["telemetry"]
