"""`deepones data` with rich data, through the real CLI in a child process: unknown fields reported
once, export refused with a count (exit 2, one line), stats per kind (Figure 6), one search
result per line, `data index` finishing an index left behind."""

from __future__ import annotations

import json

from tests.data.fidelity_records import SHAREGPT
from tests.data.test_cli_data import deepones


def test_import_notices_refusal_and_stats_per_kind(deepones_home, tmp_path, write_jsonl):
    path = write_jsonl("rich.jsonl", [*SHAREGPT[:3], {"question": "Which is an optimiser?", "options": ["ReLU", "Adam"],
                                                      "answer": "B", "category": "others"},
                                      {"text": "Plain pretraining text.", "source": "web"}])
    out = deepones("data", "import", str(path), home=deepones_home)
    assert out.returncode == 0, out.stderr
    assert "kept 1 unknown field 'source' (exported back as they came)" in out.stdout

    refused = deepones("data", "export", str(tmp_path / "a.json"), "--format", "alpaca", home=deepones_home)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("deepones: 3 of 5 samples cannot be written as alpaca without losing content")
    assert "tool calls" in line and "nothing was written" in line
    assert not (tmp_path / "a.json").exists()

    st = json.loads(deepones("data", "stats", "--kind", "mcq", "--json", home=deepones_home).stdout)
    assert st["total"] == 1 and st["by_kind"] == {"mcq": 1}
    assert st["by_kind_category"] == {"mcq": {"miscellaneous": 1}}   # "others", the paper's label, mapped
    every = json.loads(deepones("data", "stats", "--json", home=deepones_home).stdout)
    assert every["by_kind_category"]["text"] == {"(none)": 1}
    assert every["by_trait"] == {"has tools": 2, "preference": 0, "multi-turn": 3}


def test_search_prints_one_result_per_line(deepones_home, write_jsonl):
    path = write_jsonl("mcq.jsonl", [{"question": f"Which optimiser variant {i} adapts the step?",
                                      "options": ["ReLU", "Adam", "Dropout"], "answer": "B"} for i in range(3)])
    assert deepones("data", "import", str(path), home=deepones_home).returncode == 0
    out = deepones("data", "search", "relu", home=deepones_home)   # a match inside the options
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("#") for line in lines), out.stdout
    assert all(line.endswith("A. [ReLU] B. Adam C. Dropout") for line in lines), out.stdout


def test_import_without_index_then_data_index(deepones_home, write_jsonl):
    path = write_jsonl("p.jsonl", [{"instruction": f"What is squeezenet {i}?", "output": "A small CNN."}
                                   for i in range(5)])
    assert deepones("data", "import", str(path), "--no-index", home=deepones_home).returncode == 0
    early = deepones("data", "search", "squeezenet", home=deepones_home)
    assert early.stdout == "" and "still indexing: search covers 0 of 5 samples" in early.stderr
    done = deepones("data", "index", home=deepones_home)
    assert done.returncode == 0 and "indexed 5 samples; search covers all 5 samples" in done.stdout
    assert len(deepones("data", "search", "squeezenet", home=deepones_home).stdout.splitlines()) == 5
