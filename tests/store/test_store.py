import sqlite3

import pytest

from backend.store import CorruptStoreError, NewerSchemaError, move_aside, open_db, schema_version
from backend.store.migrations import MIGRATIONS, applied_migrations, migrate


def _tables(db):
    return set(db.table_names())


def test_blank_db_gets_every_table_in_wal_mode(tmp_path):
    db = open_db(tmp_path / "deepones.db")
    assert {"samples", "samples_fts", "sample_tags", "chats", "messages", "design_sessions", "design_steps",
            "jobs", "metrics", "bench_results", "models"} <= _tables(db)
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == len(MIGRATIONS)


def test_rerun_is_a_no_op(tmp_path):
    db = open_db(tmp_path / "deepones.db")
    before = applied_migrations(db)
    assert migrate(db) == []
    assert applied_migrations(db) == before
    db.conn.close()
    db2 = open_db(tmp_path / "deepones.db")
    assert applied_migrations(db2) == before


def test_upgrade_from_first_migration_only(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path, migrate_schema=False)
    migrate(db, upto=MIGRATIONS[0].__name__)
    assert applied_migrations(db) == [MIGRATIONS[0].__name__]
    db.conn.execute(
        "INSERT INTO samples (kind, instruction, output, content_hash, created_at, updated_at) "
        "VALUES ('instruction', 'q', 'a', 'h1', 0, 0)"
    )
    db.conn.close()
    upgraded = open_db(path)
    assert applied_migrations(upgraded) == [m.__name__ for m in MIGRATIONS]
    # Old rows survive the upgrade.
    assert upgraded.conn.execute("SELECT instruction FROM samples").fetchall() == [("q",)]


def test_foreign_file_is_refused_and_can_be_moved_aside(tmp_path):
    path = tmp_path / "deepones.db"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(CorruptStoreError) as info:
        open_db(path)
    assert "not a DeepOnes database" in str(info.value)
    assert path.read_text().startswith("this is not")  # nothing deleted
    moved = move_aside(path)
    assert moved.exists() and not path.exists()
    assert moved.read_text().startswith("this is not")
    assert schema_version(open_db(path)) == len(MIGRATIONS)


def test_damaged_sqlite_is_refused(tmp_path):
    path = tmp_path / "deepones.db"
    good = open_db(path)
    good.conn.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError):
        open_db(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "deepones.db"
    db = open_db(path)
    db.conn.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', 0)")
    db.conn.close()
    with pytest.raises(NewerSchemaError) as info:
        open_db(path)
    assert "newer DeepOnes" in str(info.value)
    # The file is untouched and still readable as SQLite.
    assert sqlite3.connect(path).execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS) + 1


def test_failed_migration_leaves_no_half_schema(tmp_path, monkeypatch):
    from backend.store import migrations as mig

    def m900_broken(db):
        db.conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(mig, "MIGRATIONS", [*mig.MIGRATIONS, m900_broken])
    db = open_db(tmp_path / "x.db", migrate_schema=False)
    with pytest.raises(RuntimeError):
        mig.migrate(db)
    assert "half" not in db.table_names()
    assert "m900_broken" not in applied_migrations(db)


def test_opening_a_second_connection_keeps_the_wal_of_the_first(tmp_path):
    """Regression: a header peek with open()/close() dropped POSIX locks, so another process's
    close deleted the -wal file under this process's live connection ("disk I/O error")."""
    import subprocess
    import sys

    path = tmp_path / "deepones.db"
    first = open_db(path)
    first.conn.execute("INSERT INTO chats (title, created_at, updated_at) VALUES ('a', 0, 0)")
    second = open_db(path)  # a worker thread's connection, as ctx.open_db() makes
    code = f"import sqlite3; c = sqlite3.connect({str(path)!r}); c.execute('SELECT count(*) FROM chats').fetchone(); c.close()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    first.conn.execute("INSERT INTO chats (title, created_at, updated_at) VALUES ('b', 0, 0)")
    assert second.conn.execute("SELECT count(*) FROM chats").fetchone()[0] == 2
    assert path.with_name("deepones.db-wal").exists()


def test_migration_names_say_their_order():
    # Migrations run in list order; their numbers must say so (m001, m002, ... strictly rising).
    import re

    numbers = [int(re.match(r"m(\d{3})_", m.__name__).group(1)) for m in MIGRATIONS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), [m.__name__ for m in MIGRATIONS]


def test_store_with_legacy_migration_names_opens_without_rerunning(tmp_path):
    from backend.store.migrations import LEGACY_NAMES

    path = tmp_path / "deepones.db"
    open_db(path).conn.close()
    conn = sqlite3.connect(path)
    for old, new in LEGACY_NAMES.items():
        conn.execute("UPDATE _migrations SET name = ? WHERE name = ?", (old, new))
    conn.commit()
    conn.close()
    db = open_db(path)  # would raise NewerSchemaError (unknown names) or re-run ALTERs without the rename
    assert applied_migrations(db) == [m.__name__ for m in MIGRATIONS]
