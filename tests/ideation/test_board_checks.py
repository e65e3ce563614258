"""The board's requirement checks through the real model check (sandboxed jobs with torch: slow tier).

Four replayed proposals on the demo task (three carry model code), each checked by the check job;
the counts are compared with what this test builds itself; sort by a measured column; one card is
implemented on its branch (a real validation run), and its check then measures that program.
"""

from __future__ import annotations

import pytest

from backend.ideation.board import ProposalBoard
from backend.ideation.cards import sort_cards
from backend.ideation.compare import diff_designs, improvement_diff
from tests.ideation.test_board import DESIGNER

pytestmark = pytest.mark.slow

IMPLEMENTED = """import torch.nn as nn


def build_model():
    return nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))


if __name__ == "__main__":
    with open("metric.log", "w") as fh:
        fh.write("0.91\\n")
"""


def _params(*layers: tuple[int, int]) -> int:
    return sum(i * o + o for i, o in layers)


@pytest.fixture
def board(store):
    from backend.pipeline import SessionSettings, SessionStore, get_task

    sessions = SessionStore(store)
    sid = sessions.create_session(
        get_task("demo-digits"), DESIGNER, DESIGNER, SessionSettings(time_limit_s=120)
    )
    return ProposalBoard(store, sid)


def test_checks_sort_pick_merge_on_four_replayed_proposals(store, board, deepones_home):
    cards = board.propose(4)
    checked = [board.check(c.step_id) for c in cards if c.code]
    assert [c.step_id for c in checked] == [cards[0].step_id, cards[1].step_id, cards[3].step_id]
    # The same counts the test gets by building the same models itself.
    expected = [_params((64, 32), (32, 10)), _params((64, 256), (256, 256), (256, 10)), _params((64, 10))]
    assert [c.check["params"] for c in checked] == expected == [2_410, 85_002, 650]
    assert [c.check["model"] for c in checked] == ["Sequential", "Sequential", "DigitLinear"]
    assert all(c.checked and c.verdict == "green" and c.check["job_id"] for c in checked), [
        c.check for c in checked
    ]
    assert all((deepones_home / "jobs" / c.check["job_id"] / "program.py").is_file() for c in checked)
    # FLOPs per example of a linear layer: 2 x in x out.
    assert checked[2].check["flops_per_sample"] == 2 * 64 * 10
    # The card without code is "not checked yet"; sorting by a measured column puts it last.
    cards = board.cards()
    assert not cards[2].checked and cards[2].value("params") is None
    by_params = sort_cards(cards, "params")
    assert [c.value("params") for c in by_params] == [650, 2_410, 85_002, None]
    assert [c.step_id for c in sort_cards(cards, "params", descending=True)][:3] == [
        cards[1].step_id,
        cards[0].step_id,
        cards[3].step_id,
    ]

    # Merge A (small MLP) with B (wide MLP): a fifth card, checked like the others.
    merged = board.check(board.merge(cards[0].step_id, cards[1].step_id).step_id)
    assert merged.check["params"] == _params((64, 128), (128, 10)) == 9_610
    # The two designs side by side: text and code differences, and the diagrams' differences.
    diff = diff_designs(*(board_version(c) for c in (board.card(cards[0].step_id), merged)))
    assert diff.text_changes > 0 and diff.code_changes == 1
    assert "-    return nn.Sequential(nn.Linear(64, 32)" in diff.unified_code()
    from backend.ideation.diagram import diff as diagram_diff
    from backend.ideation.diagram import diff_summary

    marks = diff_summary(
        *diagram_diff(board.card(cards[0].step_id).check["diagram"], merged.check["diagram"], 1)
    )
    assert marks["changed"] or marks["added"]

    # Pick the small MLP, implement it on its branch (a real validation run), check the program.
    board.continue_with(cards[0].step_id)
    from backend.pipeline import DesignRunner

    step = DesignRunner(store, board.session_id).run_code(IMPLEMENTED)
    assert step.status == "succeeded" and step.parent_id == cards[0].step_id, step.stderr
    card = board.card(cards[0].step_id)
    assert card.check_stale and not card.checked  # the branch moved on: the old check is not shown
    assert card.code_source == f"the program of Validate edit 1 (step {step.id})"
    card = board.check(card.step_id)
    assert card.check["params"] == _params((64, 48), (48, 10))
    # All of it is in the session tree: five proposals, the validation run, and the check jobs recorded.
    stages = [
        r[0]
        for r in store.execute(
            "SELECT stage FROM design_steps WHERE session_id = ? ORDER BY id", [board.session_id]
        ).fetchall()
    ]
    assert stages == ["propose"] * 5 + ["validate"]


def board_version(card):
    from backend.ideation.compare import card_version

    return card_version(card)


def test_improvement_diff_shows_code_once_implemented(store, board):
    first = board.propose(1)[0]
    sessions = board.store
    improve = sessions.add_step(
        board.session_id,
        first.step_id,
        "improve",
        status="done",
        response="One possible improvement is a wider hidden layer of 48 units.\n",
        reference_code=None,
    )
    sessions.fork(board.session_id, improve.id)
    from backend.pipeline import DesignRunner

    DesignRunner(store, board.session_id).run_code(IMPLEMENTED)
    diff = improvement_diff(sessions, board.card(first.step_id))
    assert diff.before.label.startswith("A_B") and diff.after.label.startswith("A_I")
    assert "nn.Linear(64, 32)" in diff.before.code and "nn.Linear(64, 48)" in diff.after.code
    assert diff.code_changes and diff.text_changes
