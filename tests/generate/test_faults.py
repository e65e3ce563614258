"""Faults on a real HTTP endpoint on loopback: 429s, 5xx, garbage JSON, hangs; a SIGKILL mid-run, then resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from backend.generate import runner, runs
from backend.generate.model import PaperSource
from backend.generate.pipeline import GenerateOptions
from tests.generate import paper_fixture as fx
from tests.generate.fault_server import FaultServer
from tests.generate.test_cli_generate import ROOT, last_json


@pytest.fixture
def server():
    srv = FaultServer(fx.ANSWERS, tag_by_title=True)
    yield srv
    srv.stop()


def test_endpoint_faults_are_retried_or_recorded_and_the_run_finishes(store, tmp_path, server):
    server.refuse_json_schema = True  # the llama-cpp-python server's case: json_object + schema instead
    server.hang_s = 3.0
    server.faults = {
        "filter": ["429", "429"],
        "diagram": ["500"],
        "properties": ["garbage", "garbage"],
        "requirements": ["hang", "hang", "hang"],
    }
    url = server.start()
    run_id = runs.create_run(
        store,
        [PaperSource(str(fx.write_record(tmp_path)))],
        model=url,
        dataset="faults",
        options={
            **GenerateOptions(mcq_share=0).to_dict(),
            "concurrency": 4,
            "timeout_s": 0.5,
            "max_retries": 2,
            "backoff_s": 0.05,
        },
    )
    started = time.monotonic()
    summary = runner.run(store, run_id)
    assert time.monotonic() - started < 20
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    steps = {s.name: s for s in runs.steps(store, run_id, 0)}
    assert steps["filter"].status == "ok" and steps["diagram"].status == "ok"  # 429 x2 and a 500: retried
    seen = Counter((step, fault) for _, step, fault in server.seen)
    assert seen[("filter", "429")] == 2 and seen[("filter", "ok")] == 1 and seen[("diagram", "500")] == 1
    assert steps["properties"].status == "failed"
    assert steps["properties"].reason.startswith("invalid answer after a retry: the answer is not JSON")
    assert steps["properties"].raw == '{"this is": not json' and steps["properties"].attempts == 2
    assert steps["requirements"].status == "failed"
    assert "did not answer within 0.5 s (timeout) (gave up after 3 tries)" in steps["requirements"].reason
    assert steps["dlpd"].status == "skipped" and "requirements" in steps["dlpd"].reason
    assert steps["instructions"].status == "ok" and summary["samples_by_kind"] == {"instruction": 7}
    # structured output: json_schema was refused once, then every request used json_object with the schema
    assert server.formats["json_schema"] == 0 and server.formats["json_object"] >= 10
    shown = runs.show(store, run_id)["papers"][0]["steps"]
    assert {"name": "requirements", "status": "failed", "reason": steps["requirements"].reason} in shown


def _db_count(path, sql) -> int:
    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_finishes_without_duplicates(deepones_home, tmp_path, server):
    server.delay_s = 0.1
    url = server.start()
    papers = [fx.write_record(tmp_path, f"2401.{n:05d}", f"Residual paper {n}") for n in range(6)]
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "deepones_gui",
        "generate",
        "run",
        *map(str, papers),
        "--model",
        url,
        "--dataset",
        "killed",
        "--mcq-share",
        "0",
        "--concurrency",
        "2",
        "--json",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db_path = deepones_home / "deepones.db"
    deadline = time.monotonic() + 60
    while _db_count(db_path, "SELECT count(*) FROM generate_steps") < 20:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = _db_count(db_path, "SELECT count(*) FROM generate_steps")
    papers_done = _db_count(db_path, "SELECT count(*) FROM generate_papers WHERE status = 'done'")
    assert 20 <= committed < 72 and papers_done < 6
    asked_before = sum(server.requests.values())

    status = last_json(
        subprocess.run(
            [sys.executable, "-m", "deepones_gui", "generate", "status", "1", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    assert status["status"] == "interrupted"
    resumed = last_json(
        subprocess.run(
            [sys.executable, "-m", "deepones_gui", "generate", "resume", "1", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    )
    assert resumed["status"] == "finished" and resumed["papers"] == {"done": 6}
    assert resumed["samples"] == resumed["samples_added"] == 6 * 11
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*), count(DISTINCT content_hash) FROM samples").fetchone() == (66, 66)
    assert db.execute("SELECT count(*) FROM sample_provenance").fetchone()[0] == 66
    assert db.execute("SELECT count(*) FROM generate_steps").fetchone()[0] == 6 * 12
    per_paper = dict(db.execute("SELECT paper_title, count(*) FROM sample_provenance GROUP BY 1").fetchall())
    assert per_paper == {f"Residual paper {n}": 11 for n in range(6)}
    db.close()
    # Committed steps were not asked again: only what was in flight at the kill (<= concurrency) was.
    asked_twice = [key for key, n in server.requests.items() if n > 1]
    assert len(asked_twice) <= 2, asked_twice
    # 11 asked steps per paper (its 12th, the MCQs, is skipped: share 0), each answered once, plus the re-asks
    assert sum(server.requests.values()) == 6 * 11 + len(asked_twice)
    assert asked_before >= committed
