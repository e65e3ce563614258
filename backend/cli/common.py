"""Helpers shared by CLI commands: opening the store with clear one-line errors, Ctrl-C as a clean cancel."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable

import click

from backend import paths
from backend.outfiles import sweep_partials
from backend.store import StoreError, open_store

# Terminal control sequences (CSI "ESC [ ... letter", OSC "ESC ] ... BEL / ESC \\", two-byte ESC codes) and
# every other control character but tab and newline, C1 (U+0080-U+009F, whose U+009B is a one-character CSI)
# included: sample text comes from files anyone wrote, and printed raw it could retitle the terminal, hide
# lines, or rewrite what the user sees.
_TERMINAL_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?"
                               r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """``text`` safe to print on a terminal: control sequences and control characters removed."""
    return _TERMINAL_CONTROL.sub("", str(text))


def positive_seconds(ctx, param, value: float | None) -> float | None:
    """Click callback for a time limit: a positive, finite number of seconds. 0, negative, nan and inf
    are mistakes (click's FloatRange lets nan through: nan compares false with every bound)."""
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a positive number of seconds, not {value:g}")
    return value


def fail(message: str, code: int = 2) -> None:
    click.echo(f"deepones: {message}", err=True)
    sys.exit(code)


def store_or_exit():
    """The opened store, or a one-line message and exit code 2 (never a traceback)."""
    try:
        db = open_store()
    except paths.DataDirError as exc:
        fail(str(exc))
    except StoreError as exc:
        fail(f"{exc} To move it aside: deepones db move-aside")
    # A start: what a killed export left half-written beside its target goes now, and an import
    # killed mid-way is marked interrupted in its record (one still running elsewhere is left alone).
    from backend.datasets.import_runs import mark_interrupted_imports

    sweep_partials(paths.data_dir())
    mark_interrupted_imports(db, paths.data_dir())
    return db


def run_interruptible(fn: Callable[[], object], cancel: Callable[[], object] | threading.Event,
                      message: str = "cancelling…") -> tuple[object, bool]:
    """Run ``fn`` on a thread so Ctrl-C reaches this one and becomes a clean cancel (the work is asked
    to stop and waited for, never abandoned). Returns (fn's result, whether Ctrl-C was pressed)."""
    box: dict = {}
    # Waited on instead of thread.join(): a Ctrl-C that lands inside join() can leave is_alive()
    # False while the work still runs (CPython gh-90882), and the process would then exit with
    # the runs it should have stopped still going.
    finished = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            box["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    interrupted = False
    while not finished.is_set():
        try:
            finished.wait(0.2)
        except KeyboardInterrupt:
            if not interrupted:
                interrupted = True
                click.echo(f"\ndeepones: {message}", err=True)
                cancel.set() if isinstance(cancel, threading.Event) else cancel()
    if "error" in box:
        raise box["error"]
    return box.get("value"), interrupted
