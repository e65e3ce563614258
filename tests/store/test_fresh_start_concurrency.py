"""Processes starting together on a fresh, empty data dir (issue 22, item 6): each probes the data dir with
a file of its own and the first migrations are applied once, under a lock, so every import completes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDS_EACH = 20


def _record(proc: int, i: int) -> dict:
    return {"instruction": f"Process {proc} asks about technique {i}?", "output": f"Answer {i} from {proc}.",
            "category": "description generation"}


def _race(tmp_path: Path, processes: int, trial: int) -> None:
    home = tmp_path / f"home-{processes}-{trial}"   # fresh and empty: not even created yet
    files = []
    for p in range(processes):
        path = tmp_path / f"in-{processes}-{trial}-{p}.jsonl"
        path.write_text("".join(json.dumps(_record(p, i)) + "\n" for i in range(RECORDS_EACH)), "utf-8")
        files.append(path)
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-m", "deepones_gui", "data", "import", str(f), "--json"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    for (out, err), code in results:
        assert code == 0, f"trial {trial}: exit {code}: {err[-2000:]}"
        summary = json.loads(out.strip().splitlines()[-1])
        assert (summary["imported"], summary["rejected_total"], summary["errors"]) == (RECORDS_EACH, 0, [])
    conn = sqlite3.connect(home / "deepones.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == processes * RECORDS_EACH
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations")]
        assert len(names) == len(set(names))   # each migration applied once
    finally:
        conn.close()


@pytest.mark.parametrize("processes", [4, 8])
def test_processes_importing_at_once_into_a_fresh_data_dir(tmp_path, processes, repeats=3):
    for trial in range(repeats):
        _race(tmp_path, processes, trial)


@pytest.mark.slow
@pytest.mark.parametrize("processes", [4, 8])
def test_processes_importing_at_once_into_a_fresh_data_dir_ten_times(tmp_path, processes):
    test_processes_importing_at_once_into_a_fresh_data_dir(tmp_path, processes, repeats=10)


_OPENER = """
import os, sys, time
from pathlib import Path
from backend.store import open_store   # imported before the start line, so all open within a moment
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
db = open_store(Path(sys.argv[2]))
print(db.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0])
"""


def test_stores_opened_at_the_same_moment_apply_each_migration_once(tmp_path):
    from backend.store.migrations import MIGRATIONS

    for trial in range(3):
        home, go = tmp_path / f"home-{trial}", tmp_path / f"go-{trial}"
        procs = [subprocess.Popen([sys.executable, "-c", _OPENER, str(go), str(home)], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
        # all eight waiting at the start line: each has created nothing yet
        import time

        time.sleep(3)
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
            assert int(out) == len(MIGRATIONS)
