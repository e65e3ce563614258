"""``deepones design propose``: the proposal board headless — N designs for one task at once.

Each proposal is a Propose attempt in a design session's tree (the same one the Design workspace's
board shows); ``--check`` also measures the proposals that carry model code against the task's
requirements (a sandboxed job each). The JSON last line lists the proposals with their designer,
text, tokens/s, check and step ids, and the session id.
"""

from __future__ import annotations

import json

import click

from backend.cli.common import fail, plain, run_interruptible, store_or_exit


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _progress(kind: str, payload: dict) -> None:
    if kind != "card":
        return
    card = payload["card"]
    if card.status == "running":
        click.echo(f"… proposal {card.step_id} from {plain(card.designer)}", err=True)
    else:
        speed = f", {card.tokens_per_s:.1f} tok/s" if card.tokens_per_s else ""
        detail = f": {plain(card.error)}" if card.error else ""
        click.echo(f"  proposal {card.step_id}: {card.status}{speed}{detail}", err=True)


@click.command("propose")
@click.option("--task", "task_name", metavar="NAME", help="A task name (see `deepones design --list-tasks`).")
@click.option(
    "--session", "session_id", type=int, help="Add the proposals to this session instead of a new one."
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, 16),
    default=4,
    show_default=True,
    help="How many proposals (shared round-robin over --models).",
)
@click.option(
    "--models", metavar="A,B", help="Designer models, comma-separated (default: the session's designer)."
)
@click.option(
    "--temperature",
    type=click.FloatRange(0, 2),
    default=0.8,
    show_default=True,
    help="Sampling temperature of every proposal.",
)
@click.option(
    "--prompt", "prompt_text", metavar="TEXT", help="Ask this instead of the task's Propose prompt."
)
@click.option(
    "--check",
    "run_checks",
    is_flag=True,
    help="Check every proposal that carries model code against the task's requirements.",
)
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON object.")
def propose(task_name, session_id, n, models, temperature, prompt_text, run_checks, as_json) -> None:
    """Ask the designer for N proposals at once (N samples, N models, or both), streamed in parallel."""
    from backend.ideation.board import BoardError, ProposalBoard
    from backend.pipeline import SessionSettings, SessionStore, TaskError, get_task
    from backend.settings import load_settings

    designers = _split(models)
    if models is not None and not designers:
        fail("--models names no model (give e.g. --models embedded,http://127.0.0.1:8080/v1)")
    db = store_or_exit()
    store = SessionStore(db)
    if session_id is None:
        if not task_name:
            fail("give --task NAME (see `deepones design --list-tasks`) or --session ID")
        try:
            task = get_task(task_name)
        except TaskError as exc:
            fail(str(exc))
        app = load_settings()
        session_id = store.create_session(
            task,
            designers[0] if designers else app.designer_model,
            app.programmer_model,
            SessionSettings(interpreter=app.execution_python),
            title=f"Proposals: {task.title}",
        )
    else:
        try:
            store.session_row(session_id)
        except LookupError as exc:
            fail(str(exc))
    board = ProposalBoard(db, session_id, on_event=_progress)

    def work():
        cards = board.propose(n, designers or None, temperature, prompt_text)
        if run_checks:
            for card in cards:
                if card.code.strip() and not board.stopped:
                    click.echo(f"… checking proposal {card.step_id}", err=True)
                    board.check(card.step_id)
        return [board.card(card.step_id) for card in cards]

    try:
        cards, interrupted = run_interruptible(work, board.stop, "stopping the answers…")
    except BoardError as exc:
        fail(str(exc))
    finally:
        board.close()
    if interrupted:
        fail(f"stopped; the answers so far are in session {session_id}", 130)
    for card in cards:
        verdict = f"  [{card.verdict}]" if card.verdict else ("  [not checked]" if card.code else "")
        click.echo(f"--- proposal {card.step_id} · {plain(card.designer)} · {card.status}{verdict}")
        click.echo(plain(card.text.strip() or card.error or ""))
    if as_json:
        click.echo(json.dumps({"session_id": session_id, "proposals": [c.to_json() for c in cards]}))
    if not any(c.status == "done" for c in cards):
        raise SystemExit(1)


SUBCOMMANDS = [propose]
