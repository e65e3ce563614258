"""Helpers shared by CLI commands: opening the store with clear one-line errors."""

from __future__ import annotations

import sys

import click

from backend import paths
from backend.store import StoreError, open_store


def fail(message: str, code: int = 2) -> None:
    click.echo(f"deepones: {message}", err=True)
    sys.exit(code)


def store_or_exit():
    """The opened store, or a one-line message and exit code 2 (never a traceback)."""
    try:
        return open_store()
    except paths.DataDirError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(f"{exc} To move it aside: deepones db move-aside")
