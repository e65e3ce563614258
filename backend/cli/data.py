"""`deepones data import|search|stats|export|duplicates|map`: the Data workspace, headless."""

from __future__ import annotations

import json
import sys

import click

from backend.cli.common import fail, plain, store_or_exit

IMPORT_FORMATS = ["auto", "deepdata", "alpaca", "sharegpt", "openai", "mcq", "text", "parquet", "hub"]
EXPORT_FORMATS = ["alpaca", "sharegpt", "openai", "text"]
KINDS = ["instruction", "dlpd", "mcq", "text"]


@click.group()
def data() -> None:
    """Import, search, count and export DeepData samples."""


@data.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--dataset", default=None, help="Dataset name recorded with each sample (default: file name).")
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: a JSON summary.")
@click.option("--index/--no-index", default=True, show_default=True,
              help="Build the search index for the new rows before returning (else: `deepones data index`).")
def import_cmd(paths: tuple[str, ...], dataset: str | None, fmt: str, as_json: bool, index: bool) -> None:
    """Import JSON/JSONL/Parquet files (or hf://owner/name datasets). Bad records are reported, not fatal."""
    from backend.datasets.importer import import_paths, storage_error
    from backend.datasets.indexing import index_pending

    db = store_or_exit()

    def progress(frac: float, text: str) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{frac:6.1%}  {text}   ", nl=False, err=True)

    try:
        report = import_paths(db, paths, dataset=dataset, fmt=fmt, progress=progress)
        if index and not report.errors:
            index_pending(db, progress=progress)
    except KeyboardInterrupt:
        fail("import interrupted; every completed batch is kept, run it again to finish", code=130)
    except Exception as exc:
        message = storage_error(exc)
        if message is None:
            raise
        fail(message)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        if sys.stderr.isatty():
            click.echo("", err=True)
        click.echo(f"imported {report.imported:,}, duplicates {report.duplicates:,}, "
                   f"rejected {report.rejected_total:,} ({report.seconds:.1f} s)")
        for r in report.rejected[:50]:
            click.echo(plain(f"  {r.file}:{r.line}: {r.reason}"))
        if report.rejected_total > 50:
            click.echo(f"  … and {report.rejected_total - 50:,} more (use --json for up to 1,000)")
        for notice in report.notices:
            click.echo(f"  {notice} (exported back as they came)")
    if report.errors:
        for message in report.errors:
            click.echo(f"deepones: {message}", err=True)
        sys.exit(2)


@data.command("search")
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search_cmd(query: str, limit: int, as_json: bool) -> None:
    """Full-text search (every word must match), best matches first."""
    from backend.datasets.indexing import coverage
    from backend.datasets.query import HIGHLIGHT_END, HIGHLIGHT_START, search

    db = store_or_exit()
    covered = coverage(db)
    if not covered.complete:
        click.echo(f"deepones: {covered.describe()} (run `deepones data index` to finish)", err=True)
    for hit in search(db, query, limit=limit):
        snippet = hit.pop("snippet") or ""
        if as_json:
            hit["snippet"] = snippet.replace(HIGHLIGHT_START, "[").replace(HIGHLIGHT_END, "]")
            click.echo(json.dumps(hit, ensure_ascii=False))
        else:
            bold, normal = ("\x1b[1m", "\x1b[0m") if sys.stdout.isatty() else ("[", "]")
            # The sample's text is cleaned of control sequences; only our own highlighting is added back.
            styled = bold.join(normal.join(plain(part) for part in piece.split(HIGHLIGHT_END))
                               for piece in snippet.split(HIGHLIGHT_START))
            # One result per line: an MCQ's options (or any multi-line match) are joined with spaces.
            click.echo(f"#{hit['id']} [{plain(hit['kind'])}/{plain(hit['category'] or '-')}] {' '.join(styled.split())}")


@data.command("stats")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Only this kind (repeatable): its category distribution, as the paper's Figure 6.")
@click.option("--json", "as_json", is_flag=True)
def stats_cmd(kinds: tuple[str, ...], as_json: bool) -> None:
    """Counts by kind, category (per kind too), review status and what samples contain."""
    from backend.datasets.query import SampleFilter
    from backend.datasets.stats import format_stats, stats

    st = stats(store_or_exit(), SampleFilter(kinds=kinds))
    click.echo(json.dumps(st) if as_json else format_stats(st))


@data.command("index")
def index_cmd() -> None:
    """Finish the search index (rows imported with --no-index, or an import that was stopped)."""
    from backend.datasets.importer import storage_error
    from backend.datasets.indexing import coverage, index_pending

    db = store_or_exit()

    def progress(frac: float, text: str) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{frac:6.1%}  {text}   ", nl=False, err=True)

    try:
        n = index_pending(db, progress=progress)
    except KeyboardInterrupt:
        fail("indexing interrupted; indexed batches are kept, run it again to finish", code=130)
    except Exception as exc:
        message = storage_error(exc)
        if message is None:
            raise
        fail(message)
    if sys.stderr.isatty():
        click.echo("", err=True)
    click.echo(f"indexed {n:,} samples; {coverage(db).describe()}")


@data.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["unreviewed", "accepted", "rejected", "needs-fix", "generated"]),
              help="Only samples with this review status (repeatable).")
@click.option("--query", default="", help="Only samples matching this full-text search.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS))
@click.option("--dataset-info", is_flag=True, help="Also write the LLaMA-Factory dataset_info.json entry.")
def export_cmd(out: str, fmt: str, statuses: tuple[str, ...], query: str, kinds: tuple[str, ...],
               dataset_info: bool) -> None:
    """Export the selection as Alpaca (.json/.jsonl), ShareGPT (.json/.jsonl), OpenAI messages (.jsonl) or
    plain text (.jsonl). Refused, with a count and the reason, where the format cannot hold the samples."""
    from pathlib import Path

    from backend.datasets.exporter import export
    from backend.datasets.query import SampleFilter

    db = store_or_exit()
    try:
        result = export(db, Path(out), fmt, SampleFilter(statuses=statuses, query=query, kinds=kinds),
                        dataset_info=dataset_info)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"wrote {result.written:,} samples to {result.path}")
    if result.dataset_info_path:
        click.echo(f"registered {result.path.stem!r} in {result.dataset_info_path}")


@data.command("duplicates")
@click.option("--threshold", default=0.7, show_default=True, type=click.FloatRange(0.1, 1.0))
@click.option("--max-samples", default=50_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def duplicates_cmd(threshold: float, max_samples: int, as_json: bool) -> None:
    """List near-duplicate clusters (MinHash over word shingles)."""
    from backend.datasets.neardup import find_near_duplicates

    clusters = find_near_duplicates(store_or_exit(), threshold=threshold, max_samples=max_samples)
    for c in clusters:
        click.echo(json.dumps(c.as_dict(), ensure_ascii=False) if as_json else f"{c.ids}  {plain(c.preview)[:90]}")


from backend.cli.data_map import map_cmd  # noqa: E402 - the map command lives in its own module

data.add_command(map_cmd)

COMMANDS = [data]
