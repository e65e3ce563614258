"""Trace commands: ``deepones trace list|show|label|undo|export|import|to-samples``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from backend.cli.common import fail, plain, store_or_exit


def _filter_options(fn):
    for option in reversed([
        click.option("--failed", is_flag=True, help="Only traces that failed and never recovered."),
        click.option("--outcome", type=click.Choice(["failed", "recovered", "clean", "never_ran", "open"]),
                     help="Only traces with this outcome."),
        click.option("--error", "error_type", help="Only traces with an attempt that failed with this error type."),
        click.option("--label", help="Only traces with this label (on the trace or an attempt)."),
        click.option("--task", help="Only traces of this task."),
        click.option("--designer", help="Only traces with this designer model."),
        click.option("--programmer", help="Only traces with this programmer model."),
        click.option("--min-debug", type=int, help="At least this many debug steps."),
        click.option("--since", help="Created on or after this date (YYYY-MM-DD)."),
        click.option("--search", "text", default="", help="Words that must appear in an attempt's code or output."),
    ]):
        fn = option(fn)
    return fn


def _date(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%d"))
    except ValueError:
        fail(f"--since {text!r}: expected a date as YYYY-MM-DD")
    return None


def _make_filter(failed, outcome, error_type, label, task, designer, programmer, min_debug, since, text):
    from backend.traces.index import TraceFilter

    if failed and outcome and outcome != "failed":
        fail("--failed and --outcome disagree; give one of them")
    return TraceFilter(outcome="failed" if failed else outcome, error_type=error_type, label=label, task=task,
                       designer=designer, programmer=programmer, min_debug=min_debug, since=_date(since), text=text)


def _list_row(r: dict) -> dict:
    return {"id": r["session_id"], "task": r["task"], "designer": r["designer"], "programmer": r["programmer"],
            "outcome": r["outcome"], "attempts": r["attempts"], "error_types": r["error_types"], "labels": r["labels"]}


@click.group()
def trace() -> None:
    """Inspect design traces across sessions: filter, label, export, turn fixes into training data."""


@trace.command("list")
@_filter_options
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(limit, as_json, **kw):
    """List traces, newest first."""
    from backend.traces.index import query

    db = store_or_exit()
    page = query(db, _make_filter(**kw), limit=limit)
    for r in page.rows:
        if as_json:
            click.echo(json.dumps(_list_row(r)))
        else:
            errors = ",".join(r["error_types"]) or "-"
            labels = ",".join(r["labels"]) or "-"
            click.echo(plain(f"{r['session_id']}\t{r['task']}\t{r['outcome']}\t{r['attempts']} attempts\t{errors}"
                             f"\t{labels}\t{r['title']}"))
    if not as_json:
        click.echo(f"{page.total} trace(s)", err=True)


def _load(db, trace_id: int):
    from backend.traces.model import TraceNotFound, load_trace

    try:
        return load_trace(db, trace_id)
    except TraceNotFound as exc:
        fail(str(exc))


@trace.command()
@click.argument("trace_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The whole trace as JSON (schema deepones.trace v1).")
def show(trace_id, as_json):
    """Show one trace: its attempts as a tree, with error types, scores and labels."""
    db = store_or_exit()
    t = _load(db, trace_id)
    if as_json:
        from backend.traces.export_json import envelope

        click.echo(json.dumps(envelope(t), ensure_ascii=False))
        return
    click.echo(plain(f"#{t.session_id} {t.title}  [{t.outcome}]  task={t.task}"))
    click.echo(plain(f"designer={t.designer}  programmer={t.programmer}  labels={','.join(t.labels) or '-'}"))
    for a in t.attempts:
        bits = [a.status] + ([a.error_type] if a.error_type else []) + (
            [f"score={a.score:.4g}"] if a.score is not None else []) + [f"#{x}" for x in a.labels]
        click.echo(f"{'  ' * t.depth(a.id)}{a.id}  " + plain(f"{a.title}: {' '.join(bits)}"
                                                            + (f"  | {a.debug_log}" if a.debug_log else "")))


@trace.command()
@click.argument("trace_id", type=int)
@click.argument("label")
@click.option("--attempt", "attempt_id", type=int, help="The attempt (step id) to label; default: the whole trace.")
@click.option("--note", help="Also add this note.")
def label(trace_id, label, attempt_id, note):
    """Label a trace or one of its attempts (undo with `deepones trace undo`)."""
    from backend.traces import labels as lb

    db = store_or_exit()
    target = (trace_id, attempt_id or lb.TRACE)
    try:
        lb.add_labels(db, [target], label, known={x.name for x in lb.label_set()})
        if note:
            lb.add_note(db, *target, note)
    except lb.LabelError as exc:
        fail(str(exc))
    click.echo(f"labelled {'attempt ' + str(attempt_id) if attempt_id else 'trace'} {label}")


@trace.command()
def undo():
    """Undo the last label or note action."""
    from backend.traces.labels import undo as undo_last

    done = undo_last(store_or_exit())
    if done is None:
        fail("nothing to undo", 1)
    click.echo(f"undid {done['action']} {done['label'] or ''} ({done['count']} target(s))")


@trace.command()
@click.argument("args", nargs=-1, required=True)
@_filter_options
@click.option("--filter", "use_filter", is_flag=True, help="Export every trace the filter options match.")
def export(args, use_filter, **kw):
    """Export ID OUT, or --filter [options] OUT; OUT ends in .json, .jsonl or .html."""
    from backend.traces.export_html import write_html
    from backend.traces.export_json import write_json, write_jsonl
    from backend.traces.index import matching_ids

    db = store_or_exit()
    if use_filter:
        if len(args) != 1:
            fail("with --filter give only OUT")
        ids, out = matching_ids(db, _make_filter(**kw)), Path(args[0])
    else:
        if len(args) != 2 or not args[0].isdigit():
            fail("give a trace ID and OUT (or --filter ... OUT)")
        ids, out = [int(args[0])], Path(args[1])
    if out.suffix not in (".json", ".jsonl", ".html"):
        fail(f"{out}: OUT must end in .json, .jsonl or .html")
    if not out.parent.is_dir():
        fail(f"{out.parent}: no such folder")
    if not ids:
        fail("no trace matches the filter", 1)
    if out.suffix == ".json" and len(ids) != 1:
        fail(f"{len(ids)} traces match: export a set as .jsonl or .html")
    traces = [_load(db, i) for i in ids]
    try:
        if out.suffix == ".json":
            written = write_json(traces[0], out)
            click.echo(f"wrote {out} and {len(written) - 1} code file(s)")
        elif out.suffix == ".jsonl":
            click.echo(f"wrote {write_jsonl(traces, out)} trace(s) to {out}")
        else:
            write_html(traces, out, title=traces[0].title if len(traces) == 1 else f"{len(traces)} DeepOnes traces")
            click.echo(f"wrote {len(traces)} trace(s) to {out}")
    except (OSError, ValueError) as exc:   # a device or FIFO target, a full disk: one line, no traceback
        fail(str(exc))


@trace.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--designer", metavar="MODEL", help="Designer for continuing it (default: yours, from settings).")
@click.option("--programmer", metavar="MODEL", help="Programmer for continuing it (default: yours, from settings).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per imported trace.")
def import_cmd(files, designer, programmer, as_json):
    """Open trace exports (.json / .jsonl) as sessions of this store, as dropping them on the window does.

    The file's model specs are kept as text only and never called: continuing or forking an imported
    trace uses your models (or --designer / --programmer)."""
    from backend.traces.export_json import TraceFileError, read_traces
    from backend.traces.import_json import import_trace, model_notice, models_text, own_models

    db = store_or_exit()
    designer, programmer = own_models(designer, programmer)
    for path in files:
        try:
            traces = list(read_traces(path))
        except TraceFileError as exc:
            fail(str(exc))
        for t in traces:
            sid = import_trace(db, t, designer=designer, programmer=programmer)
            notice = model_notice(models_text(t.designer, t.programmer), designer, programmer)
            if as_json:
                click.echo(json.dumps({"session_id": sid, "file": str(path), "title": t.title, "notice": notice}))
            else:
                click.echo(plain(f"imported {path} as trace {sid}: {t.title}"))
                click.echo(plain(f"  {notice}"))


@trace.command("to-samples")
@click.option("--label", help="Only fixes on traces or attempts with this label.")
@click.option("--dataset", default="trace-fixes", show_default=True, help="Data store dataset for the samples.")
@click.option("--json", "as_json", is_flag=True)
def to_samples_cmd(label, dataset, as_json):
    """Turn every confirmed fix into a debugging sample (kind dlpd) in the Data store."""
    from backend.traces.samples import to_samples

    result = to_samples(store_or_exit(), label=label, dataset=dataset)
    click.echo(json.dumps(result) if as_json else f"created {result['created']}, skipped {result['skipped']}")


COMMANDS = [trace]
