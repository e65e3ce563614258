"""``deepones design propose`` through click, with two replayed designers (the one stand-in)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from backend.cli import cli
from tests.ideation.test_board import DESIGNER


def test_propose_four_from_two_designers_json_last_line(tmp_path, store):
    other = tmp_path / "other.jsonl"
    other.write_text(
        "".join(
            json.dumps({"content": f"One possible model is a ResNet-{d}.\nBackbone: ResNet-{d}"}) + "\n"
            for d in (18, 34)
        )
    )
    second = f"replay:{other}"
    result = CliRunner().invoke(
        cli,
        [
            "design",
            "propose",
            "--task",
            "demo-digits",
            "--n",
            "4",
            "--models",
            f"{DESIGNER},{second}",
            "--temperature",
            "0.5",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    proposals = data["proposals"]
    assert [p["designer"] for p in proposals] == [DESIGNER, second, DESIGNER, second]
    assert [p["text"].splitlines()[-1] for p in proposals] == [
        "Backbone: MLP-32",
        "Backbone: ResNet-18",
        "Backbone: MLP-256x2",
        "Backbone: ResNet-34",
    ]
    assert all(p["status"] == "done" and p["temperature"] == 0.5 and p["tokens_per_s"] for p in proposals)
    # The ids are Propose attempts of the session named, in the store.
    rows = store.execute(
        "SELECT id, stage, model FROM design_steps WHERE session_id = ? ORDER BY id", [data["session_id"]]
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [(p["step_id"], "propose", p["designer"]) for p in proposals]
    assert "proposal 1 from" in result.stderr and "proposal 4: done" in result.stderr


def test_propose_usage_errors_are_one_line(store):
    runner = CliRunner()
    missing = runner.invoke(cli, ["design", "propose", "--n", "2"])
    assert (
        missing.exit_code == 2 and "give --task NAME" in missing.stderr and "Traceback" not in missing.output
    )
    unknown = runner.invoke(cli, ["design", "propose", "--task", "no-such-task"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
    empty = runner.invoke(cli, ["design", "propose", "--task", "demo-digits", "--models", " , "])
    assert empty.exit_code == 2 and "--models names no model" in empty.stderr
    too_many = runner.invoke(cli, ["design", "propose", "--task", "demo-digits", "--n", "40"])
    assert too_many.exit_code == 2 and "40" in too_many.output


def test_propose_exit_1_when_no_model_answered(tmp_path, store):
    result = CliRunner().invoke(
        cli,
        [
            "design",
            "propose",
            "--task",
            "demo-digits",
            "--n",
            "2",
            "--models",
            f"replay:{tmp_path / 'none.jsonl'}",
            "--json",
        ],
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert [p["status"] for p in data["proposals"]] == ["error", "error"]
    assert "cannot be read" in data["proposals"][0]["error"]
