"""Core commands: doctor, db."""

from __future__ import annotations

import json

import click

from backend import paths
from backend.cli.common import fail, store_or_exit


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-canary", is_flag=True, help="Skip the short test generation of the embedded model.")
def doctor(as_json: bool, no_canary: bool) -> None:
    """Report versions, GPUs, the data dir, the embedded model, keyring and plugins."""
    from backend import doctor as doc
    from backend.logsetup import redact

    rep = doc.report(canary=not no_canary)
    text = json.dumps(rep, indent=2) if as_json else doc.format_text(rep)
    click.echo(redact(text))


@click.group()
def db() -> None:
    """The store: path, schema version, moving a bad file aside."""


@db.command("info")
def db_info() -> None:
    """Print the DB path and schema version."""
    from backend.store import schema_version

    store = store_or_exit()
    click.echo(json.dumps({"path": str(paths.db_path()), "schema_version": schema_version(store)}))


@db.command("move-aside")
def db_move_aside() -> None:
    """Rename the current DB file out of the way (nothing is deleted); a fresh one is made next start."""
    from backend.store import move_aside

    path = paths.db_path()
    if not path.exists():
        fail(f"{path} does not exist")
    click.echo(f"moved to {move_aside(path)}")


COMMANDS = [doctor, db]
