"""The DeepBench pipeline end to end: replay designer and programmer, real sandboxed runs.

The only stand-in is what the models *say* (replay fixtures); every program really runs as a job
(the main path trains a real PyTorch MLP on scikit-learn digits on the CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend.pipeline import DesignRunner, SessionStore
from tests.design.conftest import replay


def test_cli_end_to_end_first_program_fails_second_works_final_scores(deepones_home, store):
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run(
        [sys.executable, "-m", "deepones_gui", "design", "--task", "demo-digits",
         "--designer", replay("designer.jsonl"), "--programmer", replay("programmer.jsonl"), "--json"],
        capture_output=True, text=True, env=env, timeout=600,  # a shared 2-core machine can take minutes
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    stages = [(s["stage"], s["status"], s["error_type"]) for s in summary["stages"]]
    assert stages == [
        ("propose", "done", None), ("improve", "done", None),
        ("implement", "failed", "RuntimeError"),      # the real torch shape error
        ("debug", "succeeded", None),
        ("hyperparameters", "done", None), ("final", "succeeded", None),
    ]
    assert summary["status"] == "succeeded" and 0.8 < summary["score"] <= 1.0

    sessions = SessionStore(store)
    steps = sessions.branch(summary["session_id"])
    implement, debug, hyper, final = steps[2], steps[3], steps[4], steps[5]
    # Every call is recorded with its prompt, response, code, output, timings and tokens.
    assert "scikit-learn digits" in steps[0].prompt and steps[0].response.startswith("One possible model is")
    assert "DigitMLP" in (steps[1].reference_code or "")
    assert "mat1 and mat2 shapes cannot be multiplied" in implement.stderr
    assert "nn.Linear(32, 10)" in implement.code and implement.job_id
    assert debug.debug_log.startswith("RuntimeError") and "mat1 and mat2" in debug.prompt
    assert "epoch=1" in debug.stdout and debug.score is not None
    assert debug.parent_id == implement.id and implement.parent_id == steps[1].id
    assert hyper.hyperparameters == {"learning_rate": 0.005, "batch_size": 32, "epochs": 15,
                                     "optimizer": "Adam", "dropout": 0.1}
    assert "- learning_rate: 0.005" in final.prompt
    assert final.score == summary["score"] and "epoch=15" in final.stdout
    for step in (implement, debug, final):
        assert step.timings["run_s"] > 0 and step.timings["overhead_s"] < 1.0
        assert step.completion_tokens and step.prompt_tokens
    # The runs are ordinary jobs (the Jobs workspace lists them) tagged with their step.
    jobs = {r["id"]: r for r in store.query("SELECT id, status, origin, score FROM jobs")}
    assert jobs[final.job_id]["origin"] == f"design:{final.id}" and jobs[final.job_id]["score"] == final.score
    assert (deepones_home / "jobs" / final.job_id / "metric.log").exists()
    row = sessions.session_row(summary["session_id"])
    assert row["status"] == "succeeded" and row["current_step_id"] == final.id


def test_syntax_error_goes_to_debug_without_spending_a_run(store, new_session):
    sessions, sid = new_session("programmer_syntax.jsonl")
    state = DesignRunner(store, sid).run_until("debug")
    implement, debug = state.steps[2], state.steps[3]
    assert implement.status == "failed" and implement.error_type == "SyntaxError"
    assert implement.job_id is None and implement.stdout == ""  # no run was started
    assert "line 8" in implement.stderr
    assert debug.status == "succeeded" and debug.score > 0.8
    assert debug.debug_log == "SyntaxError -> added the missing colon after the for loop"
    assert state.next_stage() == "hyperparameters"
    assert store.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1


def test_max_debug_exhaustion_fails_the_session(store, new_session):
    sessions, sid = new_session("programmer_failing.jsonl", max_debug=2)
    state = DesignRunner(store, sid).run_until()
    assert [(s.stage, s.attempt, s.error_type) for s in state.steps[2:]] == [
        ("implement", 0, "KeyError"), ("debug", 1, "KeyError"), ("debug", 2, "KeyError")]
    assert state.next_stage() is None and state.outcome() == "failed"
    assert sessions.session_row(sid)["status"] == "failed"
    # The debug log accumulates: the second debug prompt carries the first line.
    assert "1. KeyError -> renamed the key (attempt 1)" in state.steps[4].prompt
    assert all("loading data" in s.stdout for s in state.steps[2:])


def test_timeout_is_an_error_type_and_goes_to_debug(store, new_session):
    sessions, sid = new_session("programmer_slow.jsonl", max_debug=1, time_limit_s=3.0)
    runner = DesignRunner(store, sid)
    state = runner.run_until("implement")
    implement = state.steps[-1]
    assert implement.status == "failed" and implement.error_type == "Timeout"
    assert "training forever" in implement.stdout
    assert 2.5 < implement.timings["job_wall_s"] < 30
    assert state.next_stage() == "debug"
    assert "Error type: Timeout" in runner.prepare_prompt()[1]


def _cli(home, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "deepones_gui", "design", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_lists_tasks_refuses_bad_input_and_stops_early(deepones_home, store):
    listed = _cli(deepones_home, "--list-tasks")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 11
    assert "demo-digits\taccuracy (higher is better)" in listed.stdout
    bad = _cli(deepones_home, "--task", "no-such-task")
    assert bad.returncode == 2 and "No task named 'no-such-task'" in bad.stderr and "Traceback" not in bad.stderr
    early = _cli(deepones_home, "--task", "demo-digits", "--designer", replay("designer.jsonl"),
                 "--programmer", replay("programmer_failing.jsonl"), "--until", "improve", "--json")
    assert early.returncode == 3, early.stderr
    summary = json.loads(early.stdout.strip().splitlines()[-1])
    assert [s["stage"] for s in summary["stages"]] == ["propose", "improve"] and summary["score"] is None
    # Continuing the session later picks the replay up where it stopped (the next answer is C_0).
    more = _cli(deepones_home, "--session", str(summary["session_id"]), "--until", "implement", "--json")
    stages = json.loads(more.stdout.strip().splitlines()[-1])["stages"]
    assert [(s["stage"], s["error_type"]) for s in stages][-1] == ("implement", "KeyError")
    missing = _cli(deepones_home, "--task", "demo-digits", "--designer", "replay:/nonexistent.jsonl", "--json")
    assert missing.returncode == 1 and "cannot be read" in missing.stderr and "Traceback" not in missing.stderr


def test_stop_during_a_run_keeps_the_step_as_stopped(store, new_session, deepones_home):
    import threading

    from backend.store import open_store

    sessions, sid = new_session("programmer_slow.jsonl", time_limit_s=120)
    DesignRunner(store, sid).run_until("improve")
    seen = threading.Event()
    runner = DesignRunner(open_store(deepones_home), sid,
                          on_event=lambda kind, p: seen.set() if kind == "output" else None)
    worker = threading.Thread(target=runner.run_stage)
    worker.start()
    assert seen.wait(60), "the program never printed"
    runner.stop()
    worker.join(60)
    assert not worker.is_alive()
    step = sessions.branch(sid)[-1]
    assert (step.stage, step.status, step.error_type) == ("implement", "stopped", "Cancelled")
    assert "training forever" in step.stdout and step.timings["job_wall_s"] < 60
    assert sessions.state(sid).next_stage() == "implement"   # a stopped stage can simply be run again
    runner.db.conn.close()
