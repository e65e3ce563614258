"""``deepones trace`` on real recorded traces, as a user runs it (a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# The first test of a run records the replayed sessions (real training runs: minutes on a busy box).
pytestmark = pytest.mark.timeout(1200)


def _cli(home, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "deepones_gui", "trace", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_list_show_label_export_and_samples(recorded, deepones_home, tmp_path):
    out = _cli(deepones_home, "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["id"] for r in rows} == {recorded.main, recorded.failing, recorded.syntax}
    main = next(r for r in rows if r["id"] == recorded.main)
    assert set(main) == {"id", "task", "designer", "programmer", "outcome", "attempts", "error_types", "labels"}
    assert main["outcome"] == "recovered" and set(main["error_types"]) == {"RuntimeError", "NameError", "SyntaxError"}
    failed = _cli(deepones_home, "list", "--failed", "--json")
    assert [json.loads(x)["id"] for x in failed.stdout.splitlines()] == [recorded.failing]
    by_error = _cli(deepones_home, "list", "--error", "RuntimeError", "--task", "demo-digits", "--json")
    assert [json.loads(x)["id"] for x in by_error.stdout.splitlines()] == [recorded.main]

    labelled = _cli(deepones_home, "label", str(recorded.main), "--attempt", str(recorded.implement),
                    "shape-mismatch", "--note", "last layer too narrow")
    assert labelled.returncode == 0, labelled.stderr
    by_label = _cli(deepones_home, "list", "--label", "shape-mismatch", "--json")
    assert [json.loads(x)["labels"] for x in by_label.stdout.splitlines()] == [["shape-mismatch"]]
    shown = _cli(deepones_home, "show", str(recorded.main))
    assert "Implement: failed RuntimeError #shape-mismatch" in shown.stdout
    as_json = json.loads(_cli(deepones_home, "show", str(recorded.main), "--json").stdout)
    assert as_json["schema"] == "deepones.trace" and len(as_json["trace"]["attempts"]) == 6

    assert _cli(deepones_home, "export", str(recorded.main), str(tmp_path / "t.json")).returncode == 0
    assert (tmp_path / "t_code").is_dir()
    assert _cli(deepones_home, "export", "--filter", "--outcome", "recovered", str(tmp_path / "r.jsonl")).returncode == 0
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
    assert _cli(deepones_home, "export", str(recorded.main), str(tmp_path / "t.html")).returncode == 0
    assert "<!DOCTYPE html>" in (tmp_path / "t.html").read_text()

    first = _cli(deepones_home, "to-samples", "--json")
    assert json.loads(first.stdout) == {"created": 3, "skipped": 0}
    again = _cli(deepones_home, "to-samples", "--json")
    assert json.loads(again.stdout) == {"created": 0, "skipped": 3}


def test_bad_input_is_one_line_exit_2(recorded, deepones_home, tmp_path):
    for args, message in (
        (("show", "999"), "No trace 999"),
        (("label", str(recorded.main), "no-such-label"), "Unknown label 'no-such-label'"),
        (("label", "999", "timeout"), "There is no trace 999"),
        (("export", str(recorded.main), str(tmp_path / "x.txt")), "must end in .json, .jsonl or .html"),
        (("export", str(recorded.main), str(tmp_path / "missing" / "x.json")), "no such folder"),
        (("list", "--since", "yesterday"), "expected a date"),
    ):
        out = _cli(deepones_home, *args)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
    assert not (tmp_path / "x.txt").exists()
