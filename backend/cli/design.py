"""``deepones design``: run the DeepBench pipeline headless (the same runner as the Design workspace)."""

from __future__ import annotations

import json
import sys

import click

from backend.cli.common import fail, positive_seconds, store_or_exit
from backend.pipeline.state import RAIL_STAGES

EXIT_FAILED, EXIT_STOPPED_EARLY = 1, 3


def _progress(kind: str, payload: dict) -> None:
    if kind == "step":
        step = payload["step"]
        if step.status == "running":
            click.echo(f"… {step.title}", err=True)
        else:
            detail = f" {step.error_type}" if step.error_type else ""
            score = f" score={step.score}" if step.score is not None else ""
            click.echo(f"  {step.title}: {step.status}{detail}{score}", err=True)


@click.group("design", invoke_without_command=True)
@click.pass_context
@click.option("--task", "task_name", metavar="NAME", help="A task name (see --list-tasks).")
@click.option("--designer", metavar="MODEL", help="Designer model spec (default: from settings).")
@click.option("--programmer", metavar="MODEL", help="Programmer model spec (default: from settings).")
@click.option("--until", type=click.Choice(RAIL_STAGES), help="Stop after this stage.")
@click.option("--max-debug", type=click.IntRange(0, 200), default=20, show_default=True)
@click.option("--time-limit", type=click.FloatRange(1), metavar="S", callback=positive_seconds,
              help="Execution time limit of a run in seconds (default 4200; training stops at 3600).")
@click.option("--subset", type=click.IntRange(1), help="Validation subset size (default 1000).")
@click.option("--max-tokens", type=click.IntRange(16), help="Cap on tokens per model answer.")
@click.option("--no-improve", is_flag=True, help="Skip the improvement step (the paper's base variant).")
@click.option("--executor", metavar="NAME", help="Where the programs run (default: local; see `deepones doctor`).")
@click.option("--session", "session_id", type=int, help="Continue an existing session instead of a new one.")
@click.option("--list-tasks", is_flag=True, help="List task names and exit.")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON summary.")
def design(ctx, task_name, designer, programmer, until, max_debug, time_limit, subset, max_tokens, no_improve,
           executor, session_id, list_tasks, as_json) -> None:
    """Run propose -> improve -> implement -> debug -> hyperparameters -> final run.

    Exit code 0 only when the final run produced a score; 1 when the pipeline failed; 3 when
    --until stopped it before the final run. Subcommands size and draw a program without running it.
    """
    if ctx.invoked_subcommand is not None:
        return
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, TaskError, all_tasks, get_task
    from backend.settings import load_settings

    if list_tasks:
        for name, task in sorted(all_tasks().items()):
            click.echo(f"{name}\t{task.metric} ({task.direction} is better)\t{task.title}")
        return
    db = store_or_exit()
    store = SessionStore(db)
    app = load_settings()
    if session_id is None:
        if not task_name:
            fail("give --task NAME (see `deepones design --list-tasks`) or --session ID")
        try:
            task = get_task(task_name)
        except TaskError as exc:
            fail(str(exc))
        cfg = SessionSettings(max_debug=max_debug, interpreter=app.execution_python, improve=not no_improve)
        if time_limit is not None:
            cfg.time_limit_s = time_limit
            cfg.train_time_limit_s = min(cfg.train_time_limit_s, time_limit * 3600 / 4200)
        if subset:
            cfg.subset_size = subset
        if max_tokens:
            cfg.designer_max_tokens = cfg.programmer_max_tokens = max_tokens
        if executor:
            from backend.jobs.executors import executor_factories

            known = executor_factories()
            if executor not in known:
                fail(f"no executor named {executor!r} (known: {', '.join(sorted(known))})")
            cfg.executor = executor
        session_id = store.create_session(task, designer or app.designer_model, programmer or app.programmer_model, cfg)
    else:
        try:
            store.session_row(session_id)
        except LookupError as exc:
            fail(str(exc))
        store.mark_interrupted(session_id)
    from backend.pipeline.runner import StageBusy

    runner = DesignRunner(db, session_id, on_event=_progress)
    try:
        state = runner.run_until(until)
    except StageBusy as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        runner.stop()
        fail("stopped", 130)
    finally:
        runner.close()
    steps = [s.summary() for s in state.steps]
    outcome = state.outcome()
    final = state.final
    score = final.score if final is not None else None
    last = state.steps[-1] if state.steps else None
    if last is not None and last.status == "error":
        click.echo(f"deepones: the model call failed: {last.stderr}", err=True)
    if as_json:
        click.echo(json.dumps({"session_id": session_id, "status": "succeeded" if outcome == "succeeded" else "failed",
                               "stages": steps, "score": score}))
    else:
        for s in state.steps:
            err = f"  {s.error_type}" if s.error_type else ""
            sc = f"  score={s.score:g}" if s.score is not None else ""
            click.echo(f"{s.title:<18} {s.status}{err}{sc}")
        click.echo(f"session {session_id}: {outcome}" + (f", score {score:g}" if score is not None else ""))
    if score is not None:
        return
    model_failed = last is not None and last.status == "error"
    sys.exit(EXIT_STOPPED_EARLY if outcome == "open" and not model_failed else EXIT_FAILED)


def _add_subcommands() -> None:
    # Each subcommand lives in its own module (kept light: heavy imports happen inside the commands).
    from backend.cli.design_check import SUBCOMMANDS
    from backend.cli.design_propose import SUBCOMMANDS as PROPOSE

    for command in (*SUBCOMMANDS, *PROPOSE):
        design.add_command(command)


_add_subcommands()
COMMANDS = [design]
