"""The final run gets the debug loop: a final program that fails is fixed by a debug attempt that runs as a
final run (full data, the session's time limits), and the session succeeds with that attempt's score.
Real programs through the job launcher; only what the models say is replayed."""

from __future__ import annotations

import json

from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
from tests.design.conftest import replay

STAGE_AND_SCORE = (
    "import os\nprint('stage=' + os.environ['DEEPONES_STAGE'], flush=True)\n"
    "open('metric.log', 'w').write('{score}')\n"
)


def _fenced(code: str, log: str = "") -> dict:
    return {"content": (f"DEBUG LOG: {log}\n\n" if log else "") + f"```python\n{code}```\n"}


def test_a_failed_final_run_is_debugged_as_a_final_run(store, tmp_path):
    programmer = tmp_path / "programmer.jsonl"
    final_broken = (
        "import os\nprint('stage=' + os.environ['DEEPONES_STAGE'], flush=True)\nraise KeyError('epochs')\n"
    )
    programmer.write_text(
        "\n".join(
            json.dumps(x)
            for x in [
                _fenced(STAGE_AND_SCORE.format(score=0.5)),  # C_0: validates
                _fenced(final_broken),  # C_O: fails
                _fenced(STAGE_AND_SCORE.format(score=0.9), "KeyError -> read epochs from H_O"),  # its fix
            ]
        )
        + "\n"
    )
    sessions = SessionStore(store)
    sid = sessions.create_session(
        get_task("demo-digits"),
        replay("designer.jsonl"),
        f"replay:{programmer}",
        SessionSettings(
            improve=False, max_debug=2, time_limit_s=120, validation_time_limit_s=120, train_time_limit_s=60
        ),
    )
    state = DesignRunner(store, sid).run_until()
    stages = [(s.stage, s.status) for s in state.steps]
    assert stages == [
        ("propose", "done"),
        ("implement", "succeeded"),
        ("hyperparameters", "done"),
        ("final", "failed"),
        ("debug", "succeeded"),
    ], stages
    final, fix = state.steps[-2:]
    assert "stage=validate" in state.steps[1].stdout and "stage=final" in final.stdout
    assert "stage=final" in fix.stdout  # the fix ran as the final run, not on the subset
    assert "raise KeyError('epochs')" in fix.prompt  # the debug prompt shows C_O and its error
    assert fix.score == 0.9 and state.final.id == fix.id
    assert state.next_stage() is None and state.outcome() == "succeeded"
    assert state.planned_after("debug") == []
    assert sessions.session_row(sid)["status"] == "succeeded"
