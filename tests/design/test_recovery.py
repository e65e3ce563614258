"""A stage that ended without a result says why and runs again in place, on the same branch.

Real parts: the CLI as a child process killed with SIGKILL mid-run, sandboxed program runs, an
OpenAI-compatible model server process killed mid-answer. Only what the models say is recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
from tests.design.conftest import FIXTURES, replay
from tests.design.recovery_helpers import ModelServer, cli, kill_cli_during_implement, waiting_programmer


def _fixed_program() -> str:
    from backend.pipeline.extract import extract_code

    lines = (FIXTURES / "programmer_syntax.jsonl").read_text().splitlines()
    return extract_code(json.loads(lines[1])["content"])


def test_a_stopped_hand_edited_validation_resumes_instead_of_a_key_error(store, new_session, tmp_path, deepones_home):
    """Regression: next_stage() is "validate" for an unfinished hand-edited run, which has no model
    stage; resuming such a session raised KeyError('validate') in the runner."""
    from backend.store import open_store

    sessions, sid = new_session("programmer_failing.jsonl")
    DesignRunner(store, sid).run_until("implement")
    flag = tmp_path / "hold"
    flag.write_text("1")
    held = f"import pathlib, time\nwhile pathlib.Path({str(flag)!r}).exists():\n    print('held', flush=True)\n" \
           f"    time.sleep(0.2)\n" + _fixed_program()
    started = threading.Event()
    runner = DesignRunner(open_store(deepones_home), sid,
                          on_event=lambda kind, p: started.set() if kind == "output" else None)
    worker = threading.Thread(target=runner.run_code, args=(held,))
    worker.start()
    assert started.wait(60), "the hand-edited program never printed"
    runner.stop()
    worker.join(60)
    runner.db.conn.close()
    stopped = sessions.branch(sid)[-1]
    assert (stopped.stage, stopped.status, stopped.origin) == ("validate", "stopped", "user")
    assert sessions.state(sid).next_stage() == "validate"

    flag.unlink()
    state = DesignRunner(store, sid).run_until("debug")   # KeyError: 'validate' before the fix
    again = state.steps[-1]
    assert again.id == stopped.id and again.status == "succeeded" and again.score > 0.8
    assert again.code == held and again.timings["earlier_tries"][0]["status"] == "stopped"
    assert state.next_stage() == "hyperparameters"


def test_app_killed_during_a_run_is_interrupted_with_its_reason_then_runs_again_in_place(store, tmp_path,
                                                                                         deepones_home):
    sessions = SessionStore(store)
    programmer, flag = waiting_programmer(tmp_path)
    sid, step_id, pid = kill_cli_during_implement(deepones_home, programmer, sessions)
    assert sessions.step(step_id).status == "running"   # what a killed process leaves behind

    assert sessions.mark_interrupted(sid) == 1
    step = sessions.step(step_id)
    assert step.status == "interrupted" and step.unfinished
    assert step.why_stopped == f"DeepOnes was closed or killed while this stage ran (process {pid} ended)."
    state = sessions.state(sid)
    assert state.retry_step.id == step_id and state.next_stage() == "implement"
    assert state.planned_after("implement") == ["hyperparameters", "final"]

    flag.unlink()   # the program no longer waits (its orphaned first run ends too)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run(cli("--session", str(sid), "--until", "implement", "--json"), env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 3, out.stderr
    stages = json.loads(out.stdout.strip().splitlines()[-1])["stages"]
    assert [(s["stage"], s["status"], s["score"]) for s in stages] == [
        ("propose", "done", None), ("improve", "done", None), ("implement", "succeeded", 0.75)]
    again = sessions.step(step_id)   # the same step, on the same branch: no sibling, no second "Implement"
    assert again.status == "succeeded" and again.stop_reason is None and again.runner_pid != pid
    assert [s.id for s in sessions.branch(sid)][-1] == step_id and len(sessions.leaves(sid)) == 1
    assert again.timings["earlier_tries"][0]["status"] == "interrupted"


def test_a_step_another_live_process_runs_is_not_marked_interrupted(store, new_session):
    sessions, sid = new_session()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        step = sessions.add_step(sid, None, "propose", prompt="p", runner_pid=sleeper.pid)
        assert sessions.mark_interrupted(sid) == 0 and sessions.step(step.id).status == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sessions.mark_interrupted(sid) == 1 and sessions.step(step.id).status == "interrupted"


def test_model_server_killed_mid_answer_is_the_stage_error_then_run_again_answers(store, tmp_path):
    server = ModelServer(tmp_path, FIXTURES / "designer.jsonl", delay=0.05)
    try:
        sessions = SessionStore(store)
        sid = sessions.create_session(get_task("demo-digits"), server.spec, replay("programmer.jsonl"))
        chunks: list[str] = []

        def on_event(kind: str, payload: dict) -> None:
            if kind == "chunk":
                chunks.append(payload["text"])
                if len(chunks) == 3:
                    server.kill()   # the model process dies in the middle of its answer

        step = DesignRunner(store, sid, on_event=on_event).run_stage()
        assert (step.stage, step.status, step.error_type) == ("propose", "error", "ModelError")
        assert step.response == "".join(chunks) and len(chunks) >= 3       # the partial answer is kept
        assert step.stop_reason == step.stderr and "127.0.0.1" in step.stop_reason
        assert "Traceback" not in step.stderr and len(step.stderr.splitlines()) == 1
        assert step.why_stopped == step.stop_reason

        server = ModelServer(tmp_path, FIXTURES / "designer.jsonl", delay=0.0, port=server.port)
        again = DesignRunner(store, sid).run_stage()
        assert again.id == step.id and again.status == "done" and again.response.startswith("One possible model is")
        assert again.stop_reason is None and again.error_type is None
    finally:
        server.kill()


def test_an_empty_designer_answer_is_an_error_to_run_again_not_a_result(store, tmp_path, demo_task):
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"content": "  \n"}) + "\n")
    sessions = SessionStore(store)
    sid = sessions.create_session(demo_task, f"replay:{empty}", replay("programmer.jsonl"))
    step = DesignRunner(store, sid).run_stage()
    assert (step.status, step.error_type, step.why_stopped) == ("error", "EmptyAnswer",
                                                               "The model returned an empty answer.")
    sessions.update_session(sid, designer=replay("designer.jsonl"))
    again = DesignRunner(store, sid).run_stage()
    assert again.id == step.id and again.status == "done" and again.response.startswith("One possible model is")


def test_programs_run_through_the_executor_named_in_the_session(store, new_session):
    from backend import plugins
    from backend.hookspecs import hookimpl
    from backend.jobs.executors import LocalExecutor

    submitted: list[str] = []

    class CountingExecutor(LocalExecutor):
        name = "counting"

        def submit(self, spec):
            submitted.append(spec.origin)
            return super().submit(spec)

    class Plugin:
        @hookimpl
        def register_executors(self, register):
            register("counting", CountingExecutor)

    plugins.load_plugins()
    plugins.pm.register(Plugin(), name="test-counting-executor")
    try:
        sessions, sid = new_session("programmer_failing.jsonl", executor="counting")
        events: list[tuple[str, dict]] = []
        runner = DesignRunner(store, sid, on_event=lambda kind, p: events.append((kind, p)))
        implement = runner.run_until("implement").steps[-1]
        assert submitted == [f"design:{implement.id}"] and implement.error_type == "KeyError"
        running = [p for kind, p in events if kind == "running"]
        assert running == [{"step_id": implement.id, "kind": "validate", "job_id": implement.job_id}]

        sessions.update_session(sid, settings=SessionSettings(executor="no-such-executor"))
        sessions.fork(sid, implement.parent_id)
        failed = DesignRunner(store, sid).run_stage()
        assert (failed.status, failed.error_type) == ("error", "LaunchError")
        assert "unknown executor 'no-such-executor'" in failed.why_stopped and failed.job_id is None
    finally:
        plugins.pm.unregister(name="test-counting-executor")


def test_cli_design_works_with_plugins_disabled(deepones_home):
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "DEEPONES_LOAD_PLUGINS": "0"}
    listed = subprocess.run(cli("--list-tasks"), env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 11, listed.stderr
    out = subprocess.run(cli("--task", "demo-digits", "--designer", replay("designer.jsonl"),
                             "--programmer", replay("programmer_failing.jsonl"), "--until", "implement", "--json"),
                         env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 3, out.stderr
    stages = json.loads(out.stdout.strip().splitlines()[-1])["stages"]
    assert [(s["stage"], s["status"], s["error_type"]) for s in stages] == [
        ("propose", "done", None), ("improve", "done", None), ("implement", "failed", "KeyError")]
