"""Design's scenes: the demo task replayed from recorded answers (``resources/design_demo/``).

The programs really run (PyTorch on scikit-learn digits, CPU). The sessions are recorded in the store
by the backend before the page opens them (blocking: this is a script, not the app).
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[2] / "resources" / "design_demo"


def prepare(page) -> int:
    """Run the demo session to the end, then show its failed Implement step.

    That view shows the most: the traceback highlighted in the run output, and the program's
    failing line marked in the code editor (as a click on the traceback does).
    """
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
    from backend.store import connection

    with connection(page.ctx.db_path) as db:
        store = SessionStore(db)
        sid = store.create_session(
            get_task("demo-digits"), f"replay:{DEMO_DIR / 'designer.jsonl'}",
            f"replay:{DEMO_DIR / 'programmer.jsonl'}",
            SessionSettings(time_limit_s=300, train_time_limit_s=60), title="Demo: digits MLP (recorded)")
        runner = DesignRunner(db, sid, root=Path(page.ctx.data_dir))
        runner.run_until()
        failed = next(s for s in store.branch(sid) if s.stage == "implement")
    page.open_session(sid, select=failed.id)
    page.tabs.setCurrentWidget(page.output_view)
    return sid


def prepare_board(page, *, check: bool = True) -> int:
    """A session whose proposal board holds the recorded proposals of the demo task: four proposals, the three with model code checked (real sandboxed checks),
    and a merge of the first two. Returns the session id; the page shows the board."""
    from backend.ideation.board import ProposalBoard
    from backend.pipeline import SessionSettings, SessionStore, get_task
    from backend.store import connection

    designer = f"replay:{DEMO_DIR / 'proposals.jsonl'}"
    with connection(page.ctx.db_path) as db:
        store = SessionStore(db)
        sid = store.create_session(get_task("demo-digits"), designer, f"replay:{DEMO_DIR / 'programmer.jsonl'}",
                                   SessionSettings(time_limit_s=300, train_time_limit_s=60),
                                   title="Demo: four proposals for digits (recorded)")
        board = ProposalBoard(db, sid, root=Path(page.ctx.data_dir))
        cards = board.propose(4)
        merged = board.merge(cards[0].step_id, cards[1].step_id, "combine the hidden width of B into A")
        if check:
            for card in [*cards, merged]:
                if card.code.strip():
                    board.check(card.step_id)
    page.open_session(sid)
    page.show_board()
    page.board.sort_combo.setCurrentIndex(page.board.sort_combo.findData("params"))
    return sid


def ready(page) -> bool:
    return page.ready()
