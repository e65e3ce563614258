"""`deepones data map`: compute or update the Data map headless, write its positions, export it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from backend.cli.common import fail, plain, store_or_exit


@click.command("map")
@click.option(
    "--method",
    default="tfidf",
    show_default=True,
    help="Embeddings: tfidf (offline, no model) or gguf:MODEL (embedded, a .gguf path or a model name).",
)
@click.option(
    "--engine",
    type=click.Choice(["umap", "pca"]),
    default="umap",
    show_default=True,
    help="Layout: UMAP (the map) or the first two principal components (an instant preview).",
)
@click.option(
    "--recompute", is_flag=True, help="Fit a new layout over every sample (else: only new ones are placed)."
)
@click.option(
    "--fit-max",
    default=100_000,
    show_default=True,
    type=click.IntRange(100, 10_000_000),
    help="UMAP is fitted on at most this many samples; the rest are placed with transform.",
)
@click.option("--positions", type=click.Path(dir_okay=False), help="Write id,x,y,cluster,... as CSV.")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False),
    help="Write the map as a picture (.png) or an offline page (.html).",
)
@click.option("--colour-by", default="map cluster", show_default=True, help="Colour of the PNG export.")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: a JSON summary.")
def map_cmd(
    method: str,
    engine: str,
    recompute: bool,
    fit_max: int,
    positions: str | None,
    export_to: str | None,
    colour_by: str,
    as_json: bool,
) -> None:
    """Compute the 2-D map of the samples (new samples are placed into the existing layout)."""
    from backend.datamap.build import MapCancelled, build_map
    from backend.datamap.export import write_csv, write_html, write_png
    from backend.datamap.points import load_points
    from backend.datamap.vectors import MapError
    from backend.llm.base import BackendError

    if export_to and Path(export_to).suffix.lower() not in (".png", ".html", ".htm"):
        fail(f"--export writes .png or .html, not {Path(export_to).suffix or 'a file without a suffix'}")
    db = store_or_exit()

    def progress(frac: float, text: str) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{frac:6.1%}  {text[:70]:70}", nl=False, err=True)

    try:
        summary = build_map(
            db, method, engine=engine, recompute=recompute, fit_max=fit_max, progress=progress
        )
    except KeyboardInterrupt:
        fail("map interrupted; the embeddings computed so far are kept, run it again to finish", code=130)
    except MapCancelled:
        fail("map cancelled", code=130)
    except (MapError, BackendError) as exc:
        fail(str(exc))
    if not as_json and sys.stderr.isatty():
        click.echo("", err=True)
    pts = load_points(db)
    try:
        if positions:
            write_csv(db, pts, Path(positions))
        if export_to:
            if Path(export_to).suffix.lower() == ".png":
                write_png(db, pts, Path(export_to), colour_by=colour_by)
            else:
                write_html(db, pts, Path(export_to))
    except OSError as exc:
        fail(f"cannot write: {exc.strerror or exc} ({exc.filename or ''})")
    except KeyError as exc:
        fail(f"{exc.args[0]}")
    result = {
        "samples": summary["samples"],
        "layout": summary["layout"],
        "method": method,
        "engine": engine,
        "recomputed": summary["recomputed"],
        "placed_new": summary["placed_new"],
        "embedded": summary["embedded"],
        "seconds": summary["seconds"],
        "clusters": [{"name": c["name"], "size": c["size"]} for c in summary["clusters"]],
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    verb = "recomputed" if summary["recomputed"] else f"updated ({summary['placed_new']:,} new placed)"
    click.echo(
        f"map layout {summary['layout']} {verb}: {summary['samples']:,} samples, "
        f"{len(summary['clusters'])} clusters ({summary['seconds']:.1f} s)"
    )
    for c in summary["clusters"][:15]:
        click.echo(f"  {c['size']:>8,}  {plain(c['name'])}")
