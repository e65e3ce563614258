"""The proposal board over a real SQLite store, with the designer's answers replayed (the one stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.ideation.board import BoardError, ProposalBoard, plan_proposals
from backend.ideation.cards import sort_cards

# Recorded designer answers shipped for the board's demo: five proposals (three with model code), a merge.
PROPOSALS = Path(__file__).resolve().parents[2] / "resources" / "design_demo" / "proposals.jsonl"
DESIGNER = f"replay:{PROPOSALS}"


@pytest.fixture
def board_session(store):
    from backend.pipeline import SessionSettings, SessionStore, get_task

    sessions = SessionStore(store)
    sid = sessions.create_session(get_task("demo-digits"), DESIGNER, DESIGNER, SessionSettings())
    return sessions, sid


def test_plan_shares_proposals_round_robin_over_designers():
    plans = plan_proposals(4, ["A", "B"], 0.9)
    assert [(p.designer, p.sample) for p in plans] == [("A", 1), ("B", 1), ("A", 2), ("B", 2)]
    assert {p.temperature for p in plans} == {0.9}
    with pytest.raises(BoardError, match="between 1 and 16"):
        plan_proposals(0, ["A"])
    with pytest.raises(BoardError, match="at least one designer"):
        plan_proposals(2, [" ", ""])
    with pytest.raises(BoardError, match="temperature"):
        plan_proposals(2, ["A"], 3.0)


def test_four_proposals_are_cards_and_attempts_in_the_tree(store, board_session):
    sessions, sid = board_session
    events: list[tuple[str, dict]] = []
    board = ProposalBoard(store, sid, on_event=lambda kind, payload: events.append((kind, payload)))
    cards = board.propose(4, temperature=0.7)

    assert [c.status for c in cards] == ["done"] * 4
    assert [c.text.split(".")[0] for c in cards] == [
        "One possible model is a small multilayer perceptron (MLP): 64 inputs, 32 ReLU units, 10 outputs",
        "One possible model is a wide MLP with two hidden layers of 256 ReLU units",
        "One possible model is a small convolutional network over the 8x8 image: two 3x3 convolutions with 16 channels, global average pooling and a linear classifier",
        "One possible model is multinomial logistic regression: one linear layer from 64 pixels to 10 classes",
    ]
    assert all(c.designer == DESIGNER and c.temperature == 0.7 for c in cards)
    assert all(c.tokens and c.tokens > 20 for c in cards)
    # The answers streamed: chunks for every card, and a card event when each was added and finished.
    streamed = {p["step_id"] for kind, p in events if kind == "chunk"}
    assert streamed == {c.step_id for c in cards}
    assert sum(1 for kind, _ in events if kind == "card") == 8
    # The model code in a proposal is what a check measures before anything is implemented.
    assert [bool(c.code) for c in cards] == [True, True, False, True]
    assert "def build_model" in cards[0].code and cards[0].code_source == "the model code in the proposal"

    # Every card is a Propose attempt at the root of the session tree, and the branch being worked
    # on did not move (the session had none yet).
    rows = list(
        store.query(
            "SELECT id, parent_id, stage, status, model, timings FROM design_steps"
            " WHERE session_id = ? ORDER BY id",
            [sid],
        )
    )
    assert [r["id"] for r in rows] == [c.step_id for c in cards]
    assert {(r["parent_id"], r["stage"], r["status"], r["model"]) for r in rows} == {
        (None, "propose", "done", DESIGNER)
    }
    assert all(json.loads(r["timings"])["board"] == "sample" for r in rows)
    assert sessions.session_row(sid)["current_step_id"] is None
    # Traces reads the same tree: four attempts.
    from backend.traces.model import load_trace

    trace = load_trace(store, sid)
    assert sorted(a.id for a in trace.attempts) == [c.step_id for c in cards]


def test_sort_pick_and_merge(store, board_session):
    sessions, sid = board_session
    board = ProposalBoard(store, sid)
    cards = board.propose(4)

    by_tokens = sort_cards(cards, "tokens")  # longest answer first
    assert [c.tokens for c in by_tokens] == sorted((c.tokens for c in cards), reverse=True)
    assert [c.step_id for c in sort_cards(cards, "tokens", descending=False)] == [
        c.step_id for c in reversed(by_tokens)
    ] or len({c.tokens for c in cards}) < 4
    # Nothing checked yet: a measured column keeps them in the order asked (unmeasured sort last).
    assert [c.step_id for c in sort_cards(cards, "params")] == [c.step_id for c in cards]
    with pytest.raises(KeyError):
        sort_cards(cards, "nonsense")

    # Merge: a fifth card, the designer asked to combine B into A; a root attempt of its own.
    merged = board.merge(cards[0].step_id, cards[1].step_id, "combine the hidden width of B into A")
    assert merged.status == "done" and merged.merged_from == [cards[0].step_id, cards[1].step_id]
    assert "MLP with 128 ReLU units and dropout" in merged.text
    assert "combine the hidden width of B into A" in merged.prompt
    assert cards[0].text.strip() in merged.prompt and cards[1].text.strip() in merged.prompt
    assert len(board.cards()) == 5
    with pytest.raises(BoardError, match="two different"):
        board.merge(merged.step_id, merged.step_id)

    # Pick: the session goes on on that card's branch; its next stage is Improve after that proposal.
    tip = board.continue_with(cards[2].step_id)
    assert tip == cards[2].step_id
    state = sessions.state(sid)
    assert [s.id for s in state.steps] == [cards[2].step_id]
    assert state.proposal == cards[2].text and state.next_stage() == "improve"
    # Every attempt is in the store: five proposals, nothing lost by picking.
    count = store.execute(
        "SELECT count(*) FROM design_steps WHERE session_id = ? AND stage = 'propose'", [sid]
    ).fetchone()[0]
    assert count == 5


def test_picking_a_card_with_a_branch_goes_to_its_newest_step(store, board_session):
    sessions, sid = board_session
    board = ProposalBoard(store, sid)
    first, second = board.propose(2)
    improve = sessions.add_step(sid, second.step_id, "improve", status="done", response="Wider.\n")
    sessions.fork(sid, None)
    assert board.continue_with(second.step_id) == improve.id
    assert [s.id for s in sessions.state(sid).steps] == [second.step_id, improve.id]
    assert board.card(second.step_id).improve_step_id == improve.id


def test_a_failed_model_fails_its_cards_only(store, board_session, tmp_path):
    sessions, sid = board_session
    board = ProposalBoard(store, sid)
    missing = f"replay:{tmp_path / 'nothing.jsonl'}"
    cards = board.propose(3, [DESIGNER, missing])
    assert [c.status for c in cards] == ["done", "error", "done"]
    assert "cannot be read" in cards[1].error
    # The replay goes on after the two answers it gave, and runs out after the file's five: that card
    # says so, the others are kept.
    more = board.propose(4)
    assert [c.status for c in more] == ["done", "done", "done", "error"]
    assert more[0].text == board.card(cards[2].step_id + 1).text
    assert "Backbone: Linear" in more[1].text and "run out" in more[3].error


def test_stop_before_the_streams_start_sends_nothing(store, board_session):
    """Stop pressed as the cards appear: every card says it was stopped, and no answer was used up.
    (Stopping a live stream mid-answer needs a model that is still talking: the slow tier's endpoint test.)"""
    sessions, sid = board_session
    board = ProposalBoard(store, sid)
    chunks: list[int] = []

    def on_event(kind, payload):
        if kind == "chunk":
            chunks.append(payload["step_id"])
        elif kind == "card" and payload["card"].status == "running":
            board.stop()

    board.on_event = on_event
    cards = board.propose(3)
    assert [c.status for c in cards] == ["stopped"] * 3
    assert all(c.error == "You stopped the model's answer." for c in cards)
    assert chunks == []


def test_check_needs_model_code(store, board_session):
    sessions, sid = board_session
    board = ProposalBoard(store, sid)
    cards = board.propose(4)
    with pytest.raises(BoardError, match="no model code"):
        board.check(cards[2].step_id)


def test_local_models_serialise_and_endpoints_get_a_backend_per_request(tmp_path):
    """Who streams what: a replay (like a local GGUF) plays its requests in order on one backend; an
    OpenAI-compatible endpoint gets one backend per request, all streaming at once."""
    from backend.ideation.streams import ParallelStreams, StreamRequest
    from backend.llm.base import GenerationSettings
    from backend.llm.openai_backend import OpenAIBackend
    from backend.llm.replay import ReplayBackend
    from backend.llm.resolve import get_backend

    endpoint = "http://127.0.0.1:9/v1"  # never contacted: the lanes are planned, not run
    specs = [DESIGNER, endpoint, DESIGNER, endpoint, endpoint]
    requests = [StreamRequest(i, spec, "p", GenerationSettings()) for i, spec in enumerate(specs)]
    streams = ParallelStreams(requests, get_backend)
    lanes = streams._lanes()
    assert [
        (type(backend).__name__ if backend else None, [r.key for r in reqs]) for backend, reqs in lanes
    ] == [("ReplayBackend", [0, 2]), ("OpenAIBackend", [1]), (None, [3]), (None, [4])]
    assert not ReplayBackend.concurrent_streams and OpenAIBackend.concurrent_streams


def test_the_session_goes_on_from_the_card_picked(store, tmp_path):
    """After "Continue with this", the pipeline's next stage (Improve) runs on that card's branch."""
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task

    improver = tmp_path / "improver.jsonl"
    improver.write_text(
        json.dumps({"content": "One possible improvement is dropout 0.1 after the hidden layer."}) + "\n"
    )
    sessions = SessionStore(store)
    sid = sessions.create_session(get_task("demo-digits"), f"replay:{improver}", DESIGNER, SessionSettings())
    board = ProposalBoard(store, sid)
    cards = board.propose(3, [DESIGNER])
    board.continue_with(cards[1].step_id)
    step = DesignRunner(store, sid).run_stage()
    assert step.stage == "improve" and step.status == "done" and step.parent_id == cards[1].step_id
    assert cards[1].text.strip()[:60] in step.prompt  # A_B of the card picked went into the prompt
    assert board.card(cards[1].step_id).improve_step_id == step.id
    assert [s.id for s in sessions.state(sid).steps] == [cards[1].step_id, step.id]


def test_a_task_without_an_input_shape_is_a_check_result_not_a_crash(store, board_session):
    """A custom task has no input spec: the card's check says so (no job is started)."""
    from backend.ideation.card_check import check_code
    from backend.pipeline import custom_task

    task = custom_task("tabular regression", "my table", "rmse", "lower")
    result = check_code("import torch.nn as nn\n\ndef build_model():\n    return nn.Linear(3, 1)\n", task)
    assert result["status"] == "failed" and result["verdict"] == "red"
    assert "has no input shape" in result["error"]
