"""Real traces for the Traces tests: design sessions replayed through DesignRunner on demo-digits.

What the models say comes from replay files; every program really runs as a sandboxed job (PyTorch
on scikit-learn digits). The sessions are recorded once per test run into a template store, and
each test gets its own copy of that SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DESIGN_FIXTURES = Path(__file__).resolve().parents[1] / "design" / "fixtures"


@dataclass(frozen=True)
class Recorded:
    """Ids in the template store (the same in every copy)."""

    main: int            # implement (RuntimeError) -> fix 1 (NameError) -> fix 2 (scores)
    fork_tip: int        # on the main session: a fork from fix 1 whose attempt does not parse
    implement: int
    fix1: int
    fix2: int
    failing: int         # KeyError every time, debug budget exhausted
    syntax: int          # SyntaxError, then a fix that scores
    db_file: Path


def _replay(folder: Path, name: str) -> str:
    return f"replay:{folder / name}"


def _record(home: Path) -> Recorded:
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
    from backend.store import open_store

    db = open_store(home)
    try:
        store = SessionStore(db)
        task = get_task("demo-digits")
        fast = dict(time_limit_s=120, validation_time_limit_s=120, train_time_limit_s=60)
        main = store.create_session(task, _replay(DESIGN_FIXTURES, "designer.jsonl"),
                                    _replay(FIXTURES, "programmer_traces.jsonl"), SessionSettings(max_debug=3, **fast),
                                    title="Digits MLP (two fixes)")
        # To the scored debug step (a full final run would only cost time: runs are ~1 min on a busy box).
        DesignRunner(db, main, root=home).run_until("debug")
        implement, fix1, fix2 = store.branch(main)[2:]
        store.fork(main, fix1.id)
        fork_step = DesignRunner(db, main, root=home).run_stage()
        failing = store.create_session(task, _replay(DESIGN_FIXTURES, "designer.jsonl"),
                                       _replay(DESIGN_FIXTURES, "programmer_failing.jsonl"),
                                       SessionSettings(max_debug=1, improve=False, **fast), title="Key errors")
        DesignRunner(db, failing, root=home).run_until()
        syntax = store.create_session(task, _replay(DESIGN_FIXTURES, "designer.jsonl"),
                                      _replay(DESIGN_FIXTURES, "programmer_syntax.jsonl"),
                                      SessionSettings(improve=False, **fast), title="Centroids (syntax error)")
        DesignRunner(db, syntax, root=home).run_until("debug")
    finally:
        db.conn.close()
    return Recorded(main=main, fork_tip=fork_step.id, implement=implement.id, fix1=fix1.id, fix2=fix2.id, failing=failing, syntax=syntax, db_file=home / "deepones.db")


@pytest.fixture(scope="session")
def recorded_template(tmp_path_factory) -> Recorded:
    # DEEPONES_TRACES_TEMPLATE=<dir>: record there once and reuse it (local iteration only; the
    # recording is minutes of real training on a busy machine). Unset, every run records afresh.
    keep = os.environ.get("DEEPONES_TRACES_TEMPLATE")
    home = Path(keep) if keep else tmp_path_factory.mktemp("traces-template")
    saved = home / "recorded.json"
    if keep and saved.is_file():
        return Recorded(**{**json.loads(saved.read_text()), "db_file": home / "deepones.db"})
    rec = _record(home)
    con = sqlite3.connect(rec.db_file)  # fold the WAL into the file so a plain copy is complete
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    if keep:
        saved.write_text(json.dumps({k: v for k, v in asdict(rec).items() if k != "db_file"}))
    return rec


@pytest.fixture
def recorded(recorded_template, deepones_home) -> Recorded:
    """This test's own copy of the recorded store, in its DEEPONES_HOME."""
    deepones_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(recorded_template.db_file, deepones_home / "deepones.db")
    return recorded_template


@pytest.fixture
def traces_db(recorded, deepones_home):
    from backend.store import open_store

    db = open_store(deepones_home)
    yield db
    db.conn.close()
