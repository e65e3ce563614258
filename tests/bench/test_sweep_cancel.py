"""Cancelling a sweep stops every running job (no supervisor or program left) and resuming finishes it once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.children import pid_alive

SLEEP_S = "60"   # the final runs sleep this long, so they are surely still running when cancelled


def _spec(models: dict, parallel: int):
    from backend.bench.records import SweepSpec

    return SweepSpec(tasks=["demo-digits"], designers=[models["designer_a"], models["designer_b"]],
                     programmer=models["programmer"], variants=["base", "plus"], runs=3, max_debug=3,
                     time_limit_s=120, train_time_limit_s=120, executor="local", parallel=parallel,
                     interpreter=sys.executable)


def _running_jobs(home: Path, *, sleeping_only: bool = False) -> dict[str, dict]:
    """Job folders whose program is running now (status.json says so and names its pids);
    ``sleeping_only``: only final runs, the ones that sleep (validation runs end at once)."""
    found = {}
    for status_file in (home / "jobs").glob("*/status.json"):
        try:
            status = json.loads(status_file.read_text())
            stage = json.loads((status_file.parent / "spec.json").read_text())["env"].get("DEEPONES_STAGE")
        except (OSError, ValueError, KeyError):
            continue
        if sleeping_only and stage == "validate":
            continue
        if status.get("status") == "running" and status.get("pid") and status.get("supervisor_pid"):
            found[status_file.parent.name] = status
    return found


def _wait_for_running_jobs(home: Path, count: int, proc: subprocess.Popen | None = None) -> dict[str, dict]:
    deadline = time.monotonic() + 240
    while True:
        jobs = _running_jobs(home, sleeping_only=True)
        if len(jobs) >= count:
            return jobs
        if proc is not None:   # the CLI sweep must still be running while its runs are awaited
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else proc.returncode
        assert time.monotonic() < deadline, f"only {len(jobs)} running jobs"
        time.sleep(0.1)


def _assert_all_gone(jobs: dict[str, dict], home: Path) -> None:
    pids = [int(s[key]) for s in jobs.values() for key in ("supervisor_pid", "pid")]
    deadline = time.monotonic() + 30
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if pid_alive(p)] == []
    for job_id in jobs:   # and each job says how it ended
        status = json.loads((home / "jobs" / job_id / "status.json").read_text())
        assert status["status"] == "cancelled", status


def _rows(db_path: Path, sweep_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT designer, variant, run_index, status, session_id FROM bench_results"
                            " WHERE sweep_id = ? ORDER BY id", (sweep_id,)).fetchall()


def _assert_finished_once(db_path: Path, sweep_id: int) -> None:
    rows = _rows(db_path, sweep_id)
    assert len(rows) == 12 and len({r[:3] for r in rows}) == 12          # no duplicate, none missing
    assert {r[3] for r in rows} <= {"succeeded", "failed"}
    assert len({r[4] for r in rows}) == 12                                # each row ran in a session of its own


@pytest.mark.timeout(900)
def test_cancel_stops_every_running_job_and_resume_finishes(store, deepones_home, replay_models, monkeypatch):
    from backend.bench import records
    from backend.bench.sweep import SweepRunner, start_sweep

    data = deepones_home / "datasets"
    data.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DEEPONES_DATA", str(data))
    monkeypatch.setenv("BENCH_TEST_SLEEP", SLEEP_S)
    sweep_id = start_sweep(store, _spec(replay_models, parallel=2), root=deepones_home)
    runner = SweepRunner(sweep_id, root=deepones_home)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("info", runner.run()), daemon=True)
    thread.start()
    jobs = _wait_for_running_jobs(deepones_home, 2)     # two final runs in flight at once
    t0 = time.monotonic()
    runner.cancel()
    thread.join(60)
    assert not thread.is_alive() and box["info"]["status"] == "cancelled"
    assert time.monotonic() - t0 < 30                    # stopped, not waited out
    _assert_all_gone(jobs, deepones_home)
    rows = _rows(deepones_home / "deepones.db", sweep_id)
    assert sum(r[3] == "cancelled" for r in rows) == 2 and {r[3] for r in rows} <= {"cancelled", "pending"}
    assert records.sweep_row(store, sweep_id)["status"] == "cancelled"

    monkeypatch.setenv("BENCH_TEST_SLEEP", "0")
    info = SweepRunner(sweep_id, root=deepones_home).run()
    assert info["status"] == "finished" and info["done"] == info["total"] == 12
    _assert_finished_once(deepones_home / "deepones.db", sweep_id)
    assert _running_jobs(deepones_home) == {}


@pytest.mark.timeout(900)
def test_ctrl_c_on_bench_deepbench_cancels_and_resume_finishes(deepones_home, replay_models):
    data = deepones_home / "datasets"
    data.mkdir(parents=True)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "DEEPONES_DATA": str(data), "BENCH_TEST_SLEEP": SLEEP_S}
    cmd = [sys.executable, "-m", "deepones_gui", "bench", "deepbench", "--task", "demo-digits",
           "--designer", replay_models["designer_a"], "--designer", replay_models["designer_b"],
           "--programmer", replay_models["programmer"], "--runs", "3", "--max-debug", "3", "--time-limit", "120",
           "--parallel", "1", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        jobs = _wait_for_running_jobs(deepones_home, 1, proc)
        proc.send_signal(signal.SIGINT)                     # what Ctrl-C in the terminal sends
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode()
    assert err.decode().splitlines()[-1].endswith("resume with `deepones bench resume 1`")
    assert "Traceback" not in err.decode()
    _assert_all_gone(jobs, deepones_home)
    rows = _rows(deepones_home / "deepones.db", 1)
    assert [r[3] for r in rows].count("cancelled") == 1

    env["BENCH_TEST_SLEEP"] = "0"
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "resume", "1", "--json"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert sum(r["runs"] for r in summary["rows"]) == 12
    _assert_finished_once(deepones_home / "deepones.db", 1)
    assert _running_jobs(deepones_home) == {}


# -- fast variants: 2 runs one at a time; the first finishes, the second stalls and is cancelled --------------
def _two_run_rows(db_path: Path, sweep_id: int) -> list[tuple]:
    rows = _rows(db_path, sweep_id)
    assert len(rows) == 2 and len({r[:3] for r in rows}) == 2, rows   # never a duplicate row
    return rows


def _wait_for_stalled_run(home: Path, sweep_id: int, proc: subprocess.Popen | None = None) -> dict[str, dict]:
    """The second final run is sleeping (BENCH_TEST_SLEEP_FROM=1) and the first has its finished row
    (a final job seen running before that row exists may be the first one, about to end)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            done = [r for r in _rows(home / "deepones.db", sweep_id) if r[3] in ("succeeded", "failed")]
        except sqlite3.Error:
            done = []
        if done:
            jobs = _running_jobs(home, sleeping_only=True)
            if jobs:
                return jobs
        if proc is not None:   # the CLI sweep must still be running while its runs are awaited
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else proc.returncode
        assert time.monotonic() < deadline, f"no stalled second run ({len(done)} finished)"
        time.sleep(0.1)


@pytest.mark.timeout(120)
def test_gui_cancel_ends_the_running_run_keeps_the_finished_one_and_resume_completes(
        qtbot, app_context, replay_models, deepones_home, monkeypatch):
    from deepones_gui.main_window import MainWindow

    data = deepones_home / "datasets"
    data.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DEEPONES_DATA", str(data))
    monkeypatch.setenv("BENCH_TEST_SLEEP", SLEEP_S)
    monkeypatch.setenv("BENCH_TEST_SLEEP_FROM", "1")     # run 0 finishes at once, run 1 sleeps
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.show_workspace("bench")
    page.new_button.click()
    form = page.form
    form.designers.setPlainText(replay_models["designer_a"])
    form.programmer.setText(replay_models["programmer"])
    form.base.setChecked(True)
    form.plus.setChecked(False)
    form.runs.setValue(2)
    form.max_debug.setValue(3)
    form.executor.setCurrentText("local")
    form.parallel.setValue(1)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.runner is not None, timeout=30_000)
    sweep_id = page.sweep_id
    jobs = _wait_for_stalled_run(deepones_home, sweep_id)
    finished = [r for r in _two_run_rows(deepones_home / "deepones.db", sweep_id) if r[3] in ("succeeded", "failed")]
    assert len(finished) == 1

    assert page.cancel_button.isEnabled()
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.runner is None, timeout=30_000)
    _assert_all_gone(jobs, deepones_home)                 # the running run ended, its processes too
    rows = _two_run_rows(deepones_home / "deepones.db", sweep_id)
    assert finished[0] in rows                            # the finished row is kept as it was
    assert [r[3] for r in rows].count("cancelled") == 1
    qtbot.waitUntil(page.resume_button.isEnabled, timeout=30_000)
    assert page.status.text().startswith("Sweep cancelled: 1/2")

    monkeypatch.setenv("BENCH_TEST_SLEEP", "0")
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.runner is not None, timeout=10_000)
    qtbot.waitUntil(lambda: page.runner is None, timeout=90_000)
    assert page.status.text().startswith("Sweep finished: 2/2"), page.status.text()
    rows = _two_run_rows(deepones_home / "deepones.db", sweep_id)
    assert finished[0] in rows and {r[3] for r in rows} <= {"succeeded", "failed"}
    assert len({r[4] for r in rows}) == 2                 # the resumed run had a session of its own
    assert _running_jobs(deepones_home) == {}
    qtbot.waitUntil(lambda: not page.resume_button.isEnabled(), timeout=30_000)


@pytest.mark.timeout(120)
def test_cli_ctrl_c_keeps_the_finished_run_and_the_printed_resume_completes(deepones_home, replay_models):
    import re

    data = deepones_home / "datasets"
    data.mkdir(parents=True)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "DEEPONES_DATA": str(data), "BENCH_TEST_SLEEP": SLEEP_S,
           "BENCH_TEST_SLEEP_FROM": "1"}
    cmd = [sys.executable, "-m", "deepones_gui", "bench", "deepbench", "--task", "demo-digits",
           "--designer", replay_models["designer_a"], "--programmer", replay_models["programmer"], "--runs", "2",
           "--variants", "base", "--max-debug", "3", "--time-limit", "120", "--parallel", "1", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        jobs = _wait_for_stalled_run(deepones_home, 1, proc)
        finished = [r for r in _two_run_rows(deepones_home / "deepones.db", 1) if r[3] in ("succeeded", "failed")]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "Traceback" not in err.decode(), err.decode()
    _assert_all_gone(jobs, deepones_home)
    rows = _two_run_rows(deepones_home / "deepones.db", 1)
    assert len(finished) == 1 and finished[0] in rows and [r[3] for r in rows].count("cancelled") == 1

    hint = re.search(r"resume with `deepones (.+)`", err.decode().splitlines()[-1]).group(1).split()
    env["BENCH_TEST_SLEEP"] = "0"
    out = subprocess.run([sys.executable, "-m", "deepones_gui", *hint, "--json"], env=env, capture_output=True,
                         text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    assert sum(r["runs"] for r in json.loads(out.stdout.strip().splitlines()[-1])["rows"]) == 2
    rows = _two_run_rows(deepones_home / "deepones.db", 1)
    assert finished[0] in rows and {r[3] for r in rows} <= {"succeeded", "failed"}
    assert _running_jobs(deepones_home) == {}
