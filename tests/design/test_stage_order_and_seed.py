"""One stage order for the rail, the CLI, the prompts and the runner; chat seeding in the backend."""

from __future__ import annotations

from backend.pipeline import SessionSettings, SessionState, SessionStore, Step
from backend.pipeline.extract import extract_code
from backend.pipeline.seed import seed_from_chat
from backend.pipeline.state import RAIL_STAGES


def test_every_consumer_reads_the_one_stage_order(demo_task):
    from backend.cli.design import design
    from backend.pipeline import prompts, runner

    until = next(p for p in design.params if p.name == "until")
    assert tuple(until.type.choices) == RAIL_STAGES == prompts.STAGE_TEMPLATES == runner.STAGE_ORDER
    state = SessionState(demo_task, SessionSettings(), [])
    assert state.planned_after("propose") == ["improve", "implement", "hyperparameters", "final"]
    assert state.planned_after("validate") == ["hyperparameters", "final"]   # a hand run takes a debug turn
    assert SessionState(demo_task, SessionSettings(improve=False), []).planned_after("propose")[0] == "implement"
    assert state.planned_after(None) == []


def test_unfinished_tip_is_the_step_to_run_again(demo_task):
    def step(i, stage, status):
        return Step(id=i, session_id=1, parent_id=i - 1 or None, stage=stage, status=status)

    for status in ("interrupted", "stopped", "error"):
        state = SessionState(demo_task, SessionSettings(), [step(1, "propose", "done"), step(2, "improve", status)])
        assert state.retry_step.id == 2 and state.next_stage() == "improve" and state.running_step is None
    running = SessionState(demo_task, SessionSettings(), [step(1, "propose", "running")])
    assert running.retry_step is None and running.running_step.id == 1
    assert step(1, "propose", "interrupted").why_stopped == "DeepOnes was closed or killed while this stage ran."
    assert step(1, "propose", "done").why_stopped == ""


def test_chat_seeding_reads_the_code_as_the_pipeline_does(store, demo_task):
    sessions = SessionStore(store)
    answer = ("Use a small CNN.\n\n```python\nimport torch\nnet = torch.nn.Conv2d(1, 8, 3)\n```\n\n"
              "```bash\npip install torch\n```\n")
    sid = seed_from_chat(sessions, demo_task, "embedded", "embedded", answer)
    propose, improve = sessions.branch(sid)
    assert (propose.stage, propose.origin, propose.response) == ("propose", "chat", answer)
    assert improve.reference_code == extract_code(answer) == "import torch\nnet = torch.nn.Conv2d(1, 8, 3)\n"
    assert sessions.state(sid).next_stage() == "implement"
    prose = seed_from_chat(sessions, demo_task, "embedded", "embedded", "A transformer, 4 layers.")
    assert [s.stage for s in sessions.branch(prose)] == ["propose"]
    code_only = seed_from_chat(sessions, demo_task, "embedded", "embedded", "", "x = 1\n")
    assert sessions.branch(code_only)[0].response.startswith("Reference code sent from Chat:")
    try:
        seed_from_chat(sessions, demo_task, "embedded", "embedded", "  ", "")
    except ValueError as exc:
        assert "empty" in str(exc)
    else:
        raise AssertionError("an empty answer must be refused")
