"""Large JSONL files are parsed by worker processes: the store and the report must be exactly what
the in-process import gives (same rows in the same order, same rejections with their lines)."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backend.datasets.parse_pool as parse_pool
import backend.datasets.readers as readers
from backend.datasets.importer import import_paths
from backend.store import open_db
from tests.data.conftest import record

COLUMNS = ("kind, category, instruction, input, output, system, history, options, answer, source_line,"
           " content_hash, record, traits")


def _mixed_file(path):
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf" + json.dumps(record(0)).encode() + b"\r\n")   # BOM + CRLF on line 1
        for i in range(1, 5000):
            if i % 701 == 0:
                fh.write(b'{"instruction": "cut off", "output": "the ans\n')
            elif i % 997 == 0:
                fh.write(b'{"instruction": "caf\xe9", "output": "x"}\n')          # invalid UTF-8
            elif i % 613 == 0:
                fh.write(b"\n")                                                 # blank: not a record
            elif i % 499 == 0:
                fh.write(json.dumps(record(i, output="y" * 3000)).encode() + b"\n")  # over-long line
            elif i % 50 == 0:
                fh.write(json.dumps(record(i - 1, images=[f"img{i - 1}.png"])).encode() + b"\n")  # a duplicate
            else:
                fh.write(json.dumps(record(i, images=[f"img{i}.png"])).encode() + b"\n")  # unknown field
    return path


def _import(db, path, monkeypatch, parallel: bool):
    monkeypatch.setattr(parse_pool, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 62)
    calls = []
    real = parse_pool.parsed_chunks
    monkeypatch.setattr("backend.datasets.importer.parsed_chunks",
                        lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    report = import_paths(db, [path], dataset="d", batch_size=300)
    assert bool(calls) == parallel
    rows = db.conn.execute(f"SELECT {COLUMNS} FROM samples ORDER BY id").fetchall()
    return report, rows


@pytest.mark.skipif(parse_pool.worker_count() < 2, reason="one CPU: the parallel path is never used")
def test_parallel_parse_gives_the_same_store_and_report_as_in_process(tmp_path, monkeypatch, deepones_home):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 2000)
    path = _mixed_file(tmp_path / "mixed.jsonl")
    serial, serial_rows = _import(open_db(tmp_path / "serial.db"), path, monkeypatch, parallel=False)
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 2000)
    parallel, parallel_rows = _import(open_db(tmp_path / "parallel.db"), path, monkeypatch, parallel=True)
    assert serial.imported > 4000 and serial.duplicates > 50 and serial.rejected_total > 10
    assert (parallel.imported, parallel.duplicates, parallel.records) == \
        (serial.imported, serial.duplicates, serial.records)
    assert [r.as_dict() for r in parallel.rejected] == [r.as_dict() for r in serial.rejected]
    assert parallel.notices == serial.notices and "images" in parallel.notices[0]
    assert parallel_rows == serial_rows


def test_parallel_import_cancelled_stops_after_a_chunk_and_resumes_without_duplicates(tmp_path, monkeypatch,
                                                                                    deepones_home):
    if parse_pool.worker_count() < 2:
        pytest.skip("one CPU: the parallel path is never used")
    monkeypatch.setattr(parse_pool, "PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(record(i)) + "\n" for i in range(3000)))
    db = open_db(tmp_path / "c.db")
    asked = []

    def cancel() -> bool:  # asked once per parsed chunk: cancel after the second one
        asked.append(1)
        return len(asked) > 2

    report = import_paths(db, [path], batch_size=500, cancel=cancel)
    assert report.cancelled and 0 < report.imported < 3000
    assert db.conn.execute("SELECT count(*) FROM samples").fetchone()[0] == report.imported
    again = import_paths(db, [path], batch_size=500)
    assert (again.imported + report.imported, again.duplicates) == (3000, report.imported)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x1f\x00\x07\x7f\x85\xa0\u2003aZ9.ﬁ")), max_size=30))
def test_normalised_text_fast_path_matches_the_definition(text):
    """The import hashes every record through normalise_text: its shortcut must not change a hash."""
    from backend.datasets.schema import normalise_text

    assert normalise_text(text) == " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def test_bulk_settings_are_restored_after_import_and_indexing_even_when_they_fail(tmp_path, deepones_home):
    """The import and the index build raise the page cache to 128 MiB and checkpoint rarely; the
    connection (the GUI's, for one) must get its own settings back, also when a batch fails."""
    from backend.datasets.indexing import BULK_CACHE_KIB, bulk_write_settings, coverage, index_pending

    db = open_db(tmp_path / "s.db")
    db.conn.execute("PRAGMA cache_size=-4000")
    db.conn.execute("PRAGMA wal_autocheckpoint=500")
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps(record(i)) + "\n" for i in range(50)))
    assert import_paths(db, [path]).imported == 50
    assert index_pending(db) == 50 and coverage(db).complete
    settings_now = (db.conn.execute("PRAGMA cache_size").fetchone()[0],
                    db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    assert settings_now == (-4000, 500)
    with pytest.raises(RuntimeError), bulk_write_settings(db.conn):
        assert db.conn.execute("PRAGMA cache_size").fetchone()[0] == BULK_CACHE_KIB
        raise RuntimeError("a batch failed")
    assert db.conn.execute("PRAGMA cache_size").fetchone()[0] == -4000


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 1000, 1 << 20])
def test_line_blocks_split_into_the_same_lines_and_errors_as_raw_lines(tmp_path, monkeypatch, block_bytes):
    """The parallel import reads blocks and its workers split them: line numbers, CRLF, blank lines, a
    last line without its newline and over-long lines (inside a block, or spanning many) must come
    out exactly as the serial reader's raw_lines give them."""
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 50)
    lengths = [0, 10, 50, 51, 49, 200, 3, 0, 120, 50, 5]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(b"x" * n + (b"\r\n" if i % 3 == 0 else b"\n") for i, n in enumerate(lengths))
                     + b"y" * 60)   # over-long, without a newline
    reader = readers.open_reader(path, "auto")

    def plain(items):
        return [(n, str(raw) if isinstance(raw, readers.RecordError) else raw.rstrip(b"\n")) for n, raw in items]

    expected = plain(reader.raw_lines())
    reader.bytes_done = 0   # as the importer does before the parallel pass
    blocks = list(reader.line_blocks(block_bytes))
    got = plain(line for first, block in blocks for line in parse_pool.block_lines(first, block, 50))
    assert got == expected and len(expected) == len(lengths) + 1
    assert sum(1 for _, raw in expected if isinstance(raw, str)) == 5   # 51, 200, 120, 50+CR and the last
    assert reader.bytes_done == path.stat().st_size   # progress reaches the end


def test_background_checkpointer_copies_committed_rows_into_the_file_and_stops(tmp_path, deepones_home):
    """A large import checkpoints from its own thread: committed pages reach the database file while
    the writer never checkpoints itself, and the thread is gone when the import is."""
    import threading
    import time

    from backend.datasets.importer import INSERT_SQL, insert_samples
    from backend.datasets.indexing import bulk_write_settings
    from backend.store import transaction

    db = open_db(tmp_path / "ck.db")
    path = tmp_path / "ck.db"
    rows = [("instruction", "", f"q{i}", "", "a residual block " * 40, None, None, None, None, "d", "s", i,
             f"h{i}", 0.0, 0.0, None, 0) for i in range(5000)]
    assert INSERT_SQL.count("?") == len(rows[0])
    with bulk_write_settings(db.conn, background_checkpoint=True):
        db.conn.execute("PRAGMA wal_autocheckpoint=0")   # only the background thread may checkpoint
        before = path.stat().st_size
        with transaction(db):
            insert_samples(db.conn, rows, index=False)
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before + 2**20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > before + 2**20
    assert not any(t.name == "wal-checkpointer" for t in threading.enumerate())
    assert db.conn.execute("SELECT count(*) FROM samples").fetchone()[0] == 5000
