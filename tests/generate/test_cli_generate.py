"""``deepones generate`` on a real paper (arXiv:2404.02866's LaTeX) and its real repository, replayed answers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from backend.datasets.schema import DLPD_CATEGORIES, INSTRUCTION_CATEGORIES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAPER = HERE / "fixtures" / "hcrbounds"
REPO = HERE / "fixtures" / "hcrbounds_code"
ANSWERS = HERE / "answers" / "hcrbounds.jsonl"


def deepones(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "DEEPONES_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "deepones_gui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def last_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_real_paper_and_repository_replayed_land_in_data_with_provenance(deepones_home):
    run = (
        "generate",
        "run",
        str(PAPER),
        "--repo",
        str(REPO),
        "--model",
        f"replay:{ANSWERS}",
        "--dataset",
        "hcr",
        "--mcq-share",
        "1",
        "--json",
    )
    summary = last_json(deepones(*run, home=deepones_home))
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    assert (
        summary["samples_by_kind"] == {"instruction": 7, "dlpd": 4, "mcq": 7}
        and summary["samples_added"] == 18
    )
    assert summary["steps"] == {
        **{
            k: {"ok": 1}
            for k in (
                "filter",
                "contributions",
                "diagram",
                "properties",
                "requirements",
                "code_filter",
                "code_map",
                "instructions",
                "dlpd",
                "mcq",
            )
        },
        "pseudocode": {"ok": 2},
    }

    shown = last_json(deepones("generate", "show", str(summary["run_id"]), "--json", home=deepones_home))
    paper = shown["papers"][0]
    assert paper["title"] == "Guarantees of confidentiality via Hammersley-Chapman-Robbins bounds"
    assert "Methods / Hammersley-Chapman-Robbins bounds" in paper["sections"]
    assert {"kind": "class", "name": "SimpleModel", "file": "codes/mnist_model.py", "line": 16} in paper[
        "code_units"
    ]
    assert {"kind": "function", "name": "iterate", "file": "codes/testers.py", "line": 333} in paper[
        "code_units"
    ]
    steps = {s["name"]: s["status"] for s in paper["steps"]}
    assert steps == {
        **dict.fromkeys(
            (
                "filter",
                "contributions",
                "diagram",
                "properties",
                "requirements",
                "code_filter",
                "code_map",
                "instructions",
                "dlpd",
                "mcq",
            ),
            "ok",
        ),
        "pseudocode:codes/mnist_model.py:SimpleModel": "ok",
        "pseudocode:codes/testers.py:iterate": "ok",
    }
    assert Counter(s["kind"] for s in paper["samples"]) == {"instruction": 7, "dlpd": 4, "mcq": 7}

    db = sqlite3.connect(deepones_home / "deepones.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM samples s JOIN sample_provenance p ON p.sample_id = s.id").fetchall()
    assert sorted(r["sample_id"] for r in rows) == sorted(s["id"] for s in paper["samples"])
    assert {r["kind"] + "/" + r["category"] for r in rows} == (
        {f"instruction/{c}" for c in INSTRUCTION_CATEGORIES}
        | {f"dlpd/{c}" for c in DLPD_CATEGORIES}
        | {f"mcq/{c}" for c in INSTRUCTION_CATEGORIES}
    )
    assert {(r["status"], r["dataset"], r["paper_title"], r["run_id"]) for r in rows} == {
        ("generated", "hcr", paper["title"], summary["run_id"])
    }
    assert {r["model"] for r in rows} == {f"replay:{ANSWERS}"}
    proposal = next(r for r in rows if r["category"] == "requirement-based proposal")
    assert (proposal["repo_file"], proposal["repo_line"]) == ("codes/mnist_model.py", 16)
    assert "```pseudocode\nclass SimpleModel:" in proposal["output"]
    math = next(r for r in rows if r["kind"] == "instruction" and r["category"] == "mathematical expression")
    assert (
        math["section"] == "Methods / Hammersley-Chapman-Robbins bounds" and "\\epsilon_k" in math["output"]
    )
    db.close()

    again = last_json(deepones(*run, home=deepones_home))
    assert again["status"] == "finished" and again["samples_added"] == 0 and again["samples"] == 18
    db = sqlite3.connect(deepones_home / "deepones.db")
    assert db.execute("SELECT count(*) FROM samples").fetchone()[0] == 18
    db.close()

    listed = last_json(deepones("generate", "list", "--json", home=deepones_home))
    assert [r["id"] for r in listed["runs"]] == [again["run_id"], summary["run_id"]]


def test_estimate_and_clear_errors(deepones_home, tmp_path):
    est = last_json(
        deepones(
            "generate",
            "run",
            str(PAPER),
            "--repo",
            str(REPO),
            "--model",
            "http://127.0.0.1:9/v1#m",
            "--dataset",
            "x",
            "--estimate",
            "--tokens-per-s",
            "50",
            "--price-in",
            "0.15",
            "--price-out",
            "0.6",
            "--mcq-share",
            "1",
            "--json",
            home=deepones_home,
        )
    )
    # 7 paper stages + code filter + map + 4 pseudocode + mcq
    assert est["papers"] == 1 and est["requests"] == 14 and est["mcq_papers"] == 1
    assert (
        est["prompt_tokens"] > 10_000
        and est["completion_tokens"] > 2_000
        and est["tokens_per_s_source"] == "given"
    )
    assert est["time_s"] == round(est["completion_tokens"] / 50 / 4, 1)
    assert est["cost"] == round(est["prompt_tokens"] * 0.15e-6 + est["completion_tokens"] * 0.6e-6, 4)

    # a manifest pairs many papers with their repositories (here: the paper twice, the second without code)
    manifest = tmp_path / "papers.csv"
    manifest.write_text(f"paper,repo\n{PAPER},{REPO}\n{PAPER},\n")
    est2 = last_json(deepones("generate", "run", "--manifest", str(manifest), "--model", "http://127.0.0.1:9/v1#m",
                              "--dataset", "x", "--estimate", "--mcq-share", "0", "--json", home=deepones_home))
    assert est2["papers"] == 2 and est2["requests"] == (14 - 1) + 7 and est2["tokens_per_s_source"] == "default"

    missing = deepones("generate", "show", "99", "--json", home=deepones_home)
    assert (
        missing.returncode == 2
        and "no generate run 99" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    two = deepones(
        "generate",
        "run",
        str(PAPER),
        str(PAPER),
        "--repo",
        str(REPO),
        "--model",
        "replay:x",
        "--dataset",
        "d",
        home=deepones_home,
    )
    assert two.returncode == 2 and "--repo pairs one paper" in two.stderr
    ray = deepones(
        "generate",
        "run",
        str(PAPER),
        "--model",
        f"replay:{ANSWERS}",
        "--dataset",
        "d",
        "--ray",
        home=deepones_home,
    )
    assert ray.returncode != 0 and "Traceback" not in ray.stderr and ray.stderr.strip()
