"""The GUI's way to open the store: checked with plain sqlite3, sqlite-utils only on first use."""

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.store import NewerSchemaError, check_store, open_db, open_store_deferred
from backend.store.migrations import MIGRATIONS, applied_migrations, migrate

ROOT = Path(__file__).resolve().parents[2]


def test_check_store_names_the_pending_migrations(tmp_path):
    path = tmp_path / "deepones.db"
    conn, pending = check_store(path)
    assert pending == [m.__name__ for m in MIGRATIONS]      # a new file needs every one
    conn.close()
    db = open_db(path, migrate_schema=False)
    migrate(db, upto=MIGRATIONS[1].__name__)
    db.conn.close()
    conn, pending = check_store(path)
    assert pending == [m.__name__ for m in MIGRATIONS[2:]]
    conn.close()


def test_check_store_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "deepones.db"
    db = open_db(path)
    db.conn.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_from_the_future', 0)")
    db.conn.close()
    with pytest.raises(NewerSchemaError, match="m999_from_the_future"):
        check_store(path)


def test_deferred_store_migrates_at_once_and_wraps_on_first_use(tmp_path):
    store = open_store_deferred(tmp_path)
    db = store.db
    assert applied_migrations(db) == [m.__name__ for m in MIGRATIONS]
    assert store.db is db                                  # one wrapper, made once
    store.close()
    again = open_store_deferred(tmp_path)                  # current schema: nothing to run
    assert applied_migrations(again.db) == [m.__name__ for m in MIGRATIONS]
    again.close()


def test_deferred_store_opens_without_importing_sqlite_utils(tmp_path):
    open_db(tmp_path / "deepones.db").conn.close()          # current schema
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from backend.store import open_store_deferred
        store = open_store_deferred(Path({str(tmp_path)!r}))
        before = "sqlite_utils" in sys.modules
        tables = store.db.table_names()
        print(json.dumps({{"before": before, "after": "sqlite_utils" in sys.modules,
                          "samples": "samples" in tables, "numpy": "numpy" in sys.modules}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    # No import is intercepted any more (issue 26, item 11): sqlite-utils brings numpy when installed.
    assert json.loads(out.stdout) == {"before": False, "after": True, "samples": True,
                                      "numpy": importlib.util.find_spec("numpy") is not None}


