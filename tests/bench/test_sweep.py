"""Sweeps end to end: replayed models, real sandboxed program runs, local executor and a real Ray cluster."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.bench.demo_sweep import expected_run


def _spec(models: dict, executor: str = "local"):
    from backend.bench.records import SweepSpec

    return SweepSpec(tasks=["demo-digits"], designers=[models["designer_a"], models["designer_b"]],
                     programmer=models["programmer"], variants=["base", "plus"], runs=3, max_debug=3,
                     time_limit_s=60, train_time_limit_s=30, executor=executor, parallel=1,
                     interpreter=sys.executable)


def _run_sweep(store, deepones_home, spec) -> tuple[int, list[dict]]:
    from backend.bench import records
    from backend.bench.sweep import SweepRunner, start_sweep

    sweep_id = start_sweep(store, spec, root=deepones_home)
    events: list = []
    info = SweepRunner(sweep_id, root=deepones_home, on_event=lambda k, p: events.append((k, p))).run()
    assert info["status"] == "finished", info
    progress = [p for k, p in events if k == "progress"]
    assert [p["done"] for p in progress] == list(range(1, 13))
    assert progress[-1]["eta_s"] == 0 and progress[0]["eta_s"] > 0
    return sweep_id, records.results(store, sweep_id)


def _expected_rows(models: dict) -> list[dict]:
    rows = []
    n = 0
    for designer in sorted([models["designer_a"], models["designer_b"]]):
        for variant in ("base", "plus"):
            for i in range(3):
                rows.append({"designer": designer, "variant": variant, "run_index": i, **expected_run(n)})
                n += 1
    return rows


def _check_rows_and_aggregates(rows: list[dict], models: dict) -> None:
    from backend.bench import aggregate

    expected = _expected_rows(models)
    got = [{k: r[k] for k in ("designer", "variant", "run_index", "score", "success", "error_types")} for r in rows]
    assert got == expected
    for r in rows:
        assert r["status"] == ("succeeded" if r["success"] else "failed")
        assert r["session_id"] is not None and r["tokens"] > 0 and r["host"]
        assert (r["exec_s"] is not None) == bool(r["success"])
    # Table 2 by hand: mean/best/worst over the successful runs (accuracy: higher is better).
    t2 = {(r.designer, r.variant): r for r in aggregate.table2(rows)}
    for (designer, variant), row in t2.items():
        mine = [e for e in expected if e["designer"] == designer and e["variant"] == variant]
        scores = [e["score"] for e in mine if e["success"]]
        assert row.runs == 3 and row.succeeded == len(scores)
        assert row.success_rate == pytest.approx(len(scores) / 3)
        assert row.mean == pytest.approx(sum(scores) / len(scores))
        assert row.best == max(scores) and row.worst == min(scores)
        best_run = next(r for r in rows if r["designer"] == designer and r["variant"] == variant
                        and r["score"] == max(scores))
        assert row.best_exec_s == best_run["exec_s"] and row.best_session_id == best_run["session_id"]
    a, b = sorted([models["designer_a"], models["designer_b"]])
    # Designer a: base 0.9/0.7/0.8 -> 0.8; plus fails run 3, then 0.7, 0.8 -> 0.75: a loss.
    assert t2[(a, "plus")].gain == pytest.approx(0.75 - 0.8)
    # Error shares (Figure 7) by hand: every run starts with a ValueError; odd runs add a ModuleNotFoundError;
    # a diverged final run (run numbers 3 and 7: a's plus, b's base) is debugged once more and diverges
    # again (RuntimeError).
    counts = aggregate.error_counts(rows)
    assert counts[a]["base"] == {"ValueError": 3, "ModuleNotFoundError": 1}
    assert counts[a]["plus"] == {"ValueError": 3, "ModuleNotFoundError": 2, "RuntimeError": 1}
    assert counts[b]["base"] == {"ValueError": 3, "ModuleNotFoundError": 1, "RuntimeError": 1}
    shares = aggregate.error_shares(counts)
    assert shares[a]["plus"]["ModuleNotFoundError"] == pytest.approx(2 / 6)
    # Table 3: names from the "Backbone:" line, the "One possible ..." phrase, or the shipped list.
    by_designer = {r["designer"]: r for r in rows if r["variant"] == "plus"}
    assert (by_designer[a]["backbone"], by_designer[a]["backbone_source"]) == ("MLP", "line")
    assert (by_designer[a]["improvement"], by_designer[a]["improvement_source"]) == ("dropout", "line")
    assert (by_designer[b]["backbone"], by_designer[b]["backbone_source"]) == ("CNN", "list")
    assert (by_designer[b]["improvement"], by_designer[b]["improvement_source"]) == ("mixed precision", "list")
    t3 = {r.designer: r for r in aggregate.table3(rows)}
    assert t3[a].backbone == "MLP" and t3[a].backbone_count == 6
    assert t3[a].best_score == 0.9 and t3[a].best_case == "MLP"   # the best run is a base run (no improvement)


@pytest.mark.timeout(1200)
def test_sweep_local_rows_and_aggregates(store, deepones_home, replay_models, monkeypatch):
    monkeypatch.setenv("DEEPONES_DATA", str(deepones_home / "datasets"))
    (deepones_home / "datasets").mkdir(parents=True, exist_ok=True)
    sweep_id, rows = _run_sweep(store, deepones_home, _spec(replay_models))
    _check_rows_and_aggregates(rows, replay_models)
    assert {r["executor"] for r in rows} == {"local"}
    # Each run is an ordinary design session: the Design and Traces workspaces can open it.
    from backend.pipeline import SessionStore

    state = SessionStore(store).state(rows[0]["session_id"])
    assert state.outcome() == "succeeded" and state.final.score == rows[0]["score"]


@pytest.mark.timeout(1800)   # ~40 Ray jobs; each takes 1-2 s on an idle machine, 15 s under heavy load
def test_sweep_on_a_real_ray_cluster_gives_the_same_rows(store, deepones_home, replay_models, ray_settings,
                                                         monkeypatch):
    monkeypatch.setenv("DEEPONES_DATA", str(deepones_home / "datasets"))
    (deepones_home / "datasets").mkdir(parents=True, exist_ok=True)
    sweep_id, rows = _run_sweep(store, deepones_home, _spec(replay_models, executor="ray"))
    _check_rows_and_aggregates(rows, replay_models)
    assert {r["executor"] for r in rows} == {"ray"}
    # The runs really went through Ray: the local job folders say so, logs and metric came back.
    from backend.pipeline import SessionStore

    steps = SessionStore(store).steps(rows[0]["session_id"])
    final = [s for s in steps if s.stage == "final"][-1]
    job_dir = deepones_home / "jobs" / final.job_id
    status = json.loads((job_dir / "status.json").read_text())
    assert status["executor"] == "ray" and status["ray_status"] == "SUCCEEDED" and status["status"] == "succeeded"
    assert (job_dir / "metric.log").read_text() == "0.9"
    assert "final run 0" in (job_dir / "stdout.log").read_text()
    failed = [s for s in steps if s.stage == "implement"][0]
    assert "ValueError: the input width is wrong" in (deepones_home / "jobs" / failed.job_id / "stderr.log").read_text()
    job = store.conn.execute("SELECT status FROM jobs WHERE id = ?", (final.job_id,)).fetchone()
    assert job is not None and job[0] == "succeeded"


def _counts(db_path, sweep_id: int) -> dict:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM bench_results WHERE sweep_id = ? GROUP BY status",
                                 (sweep_id,)).fetchall())


@pytest.mark.timeout(1200)
def test_killed_sweep_resumes_without_duplicates_or_gaps(deepones_home, replay_models):
    """The sweep's process is SIGKILLed mid-way; `bench resume` finishes it: 12 rows, each run once."""
    data = deepones_home / "datasets"
    data.mkdir(parents=True)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "DEEPONES_DATA": str(data), "BENCH_TEST_SLEEP": "0.4"}
    cmd = [sys.executable, "-m", "deepones_gui", "bench", "deepbench", "--task", "demo-digits",
           "--designer", replay_models["designer_a"], "--designer", replay_models["designer_b"],
           "--programmer", replay_models["programmer"], "--runs", "3", "--max-debug", "3", "--time-limit", "60",
           "--parallel", "1", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    db_path = deepones_home / "deepones.db"
    deadline = time.monotonic() + 120
    try:
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                counts = _counts(db_path, 1)
            except sqlite3.OperationalError:
                counts = {}
            if counts.get("succeeded", 0) + counts.get("failed", 0) >= 4 and counts.get("running"):
                break
            assert time.monotonic() < deadline, counts
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _counts(db_path, 1)
    assert before.get("running") == 1 and before.get("pending", 0) >= 1
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "resume", "1", "--json"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert sum(r["runs"] for r in summary["rows"]) == 12
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT designer, variant, run_index, status, session_id FROM bench_results"
                            " WHERE sweep_id = 1").fetchall()
        sessions = conn.execute("SELECT count(*) FROM design_sessions").fetchone()[0]
    assert len(rows) == 12 and len({r[:3] for r in rows}) == 12
    assert {r[3] for r in rows} <= {"succeeded", "failed"}
    assert len({r[4] for r in rows}) == 12
    # One extra session: the run that was cut off by the kill, left as it was; it ran again in a new one.
    assert sessions == 13
