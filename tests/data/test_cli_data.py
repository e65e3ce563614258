"""`deepones data ...` through the real CLI entry point in a child process: outputs and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.data.conftest import record

ROOT = Path(__file__).resolve().parents[2]


def deepones(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DEEPONES_HOME": str(home)}, timeout=120)


def test_import_json_contract_search_stats_export(deepones_home, tmp_path, write_jsonl):
    path = write_jsonl("d.jsonl", [record(i) for i in range(3)],
                       raw_lines=[b'{"instruction": "x"}\n', b"{broken\n"])
    out = deepones("data", "import", str(path), "--dataset", "mine", "--json", home=deepones_home)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["imported"] == 3 and summary["duplicates"] == 0
    assert [(r["line"], r["reason"]) for r in summary["rejected"]] == [
        (4, "missing required field 'output'"), (5, summary["rejected"][1]["reason"])]
    again = json.loads(deepones("data", "import", str(path), "--json", home=deepones_home).stdout.splitlines()[-1])
    assert (again["imported"], again["duplicates"]) == (0, 3)

    hits = deepones("data", "search", "technique", "--limit", "2", "--json", home=deepones_home)
    rows = [json.loads(line) for line in hits.stdout.splitlines()]
    assert len(rows) == 2 and {"id", "kind", "category", "instruction"} <= set(rows[0])

    st = json.loads(deepones("data", "stats", "--json", home=deepones_home).stdout)
    assert st["total"] == 3 and st["by_status"]["unreviewed"] == 3 and st["by_kind"] == {"instruction": 3}

    target = tmp_path / "out" / "train.json"
    exp = deepones("data", "export", str(target), "--format", "alpaca", "--query", "technique",
                   "--dataset-info", home=deepones_home)
    assert exp.returncode == 0, exp.stderr
    assert len(json.loads(target.read_text())) == 3
    assert json.loads((target.parent / "dataset_info.json").read_text())["train"]["file_name"] == "train.json"
    none = deepones("data", "export", str(tmp_path / "none.jsonl"), "--format", "openai", "--status", "accepted",
                    home=deepones_home)
    assert none.returncode == 0 and (tmp_path / "none.jsonl").read_text() == ""


def test_unreadable_input_exits_non_zero_with_one_line(deepones_home, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.jsonl"
    binary.write_bytes(bytes(range(256)) * 20)
    for path, words in ((tmp_path / "missing.jsonl", "no such file"), (empty, "is empty"), (binary, "not a text file")):
        out = deepones("data", "import", str(path), "--json", home=deepones_home)
        assert out.returncode != 0
        err = out.stderr.strip().splitlines()
        assert len(err) == 1 and words in err[0] and "Traceback" not in out.stderr
        assert json.loads(out.stdout.strip().splitlines()[-1])["imported"] == 0


def test_cli_output_strips_terminal_control_sequences_from_sample_text(deepones_home, write_jsonl):
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31m Evilnet \x1b[0m residual \x9b1A\r\x08 block"
    path = write_jsonl("h.jsonl", [record(1, instruction=f"What is {hostile}?", output=f"It is {hostile}.")])
    assert deepones("data", "import", str(path), home=deepones_home).returncode == 0
    out = deepones("data", "search", "Evilnet", home=deepones_home)
    assert out.returncode == 0 and "Evilnet" in out.stdout
    assert not any(c in out.stdout for c in "\x1b\x9b\r\x08\x07"), repr(out.stdout)
    assert "[Evilnet]" in out.stdout   # the app's own highlighting is kept
