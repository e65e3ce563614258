"""Parquet is decoded by pyarrow (C++) in a child process: truncated, garbled and crashing reads
cost a one-line file error, never the importing process."""

from __future__ import annotations

import sys

import pytest

from backend.datasets import readers
from backend.datasets.importer import import_paths


def _parquet(path, n=3000):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"instruction": f"What is layer {i}?", "output": f"Layer {i} is a block."} for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=500)
    return path


def test_rows_arrive_through_the_reader_child(store, tmp_path, monkeypatch):
    started = []
    real = readers.parquet_child_command
    monkeypatch.setattr(readers, "parquet_child_command", lambda p: started.append(p) or real(p))
    report = import_paths(store, [_parquet(tmp_path / "ok.parquet")])
    assert (report.imported, report.errors) == (3000, [])
    assert started == [tmp_path / "ok.parquet"]   # pyarrow ran in the child, not here


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_damaged_parquet_is_a_one_line_file_error(store, tmp_path, damage):
    path = _parquet(tmp_path / "d.parquet")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # overwrite the middle (data pages) and the footer length with noise, keep the magic
        for i in range(200, len(data) - 8, 7):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    report = import_paths(store, [path])
    assert len(report.errors) == 1 and "\n" not in report.errors[0] and str(path) in report.errors[0]
    assert "Parquet" in report.errors[0] or "read" in report.errors[0]


def test_a_crash_of_the_reader_becomes_a_rejection_not_a_dead_app(store, tmp_path, monkeypatch):
    path = _parquet(tmp_path / "boom.parquet")
    # The reader dies from a signal (as a native crash in pyarrow would) after one good row.
    monkeypatch.setattr(readers, "parquet_child_command", lambda p: [
        sys.executable, "-c", "import os, sys; sys.stdout.write('{\"rows\": 2}\\n'); sys.stdout.write("
        "'{\"instruction\": \"a?\", \"output\": \"b.\"}\\n'); sys.stdout.flush(); os.abort()"])
    report = import_paths(store, [path])
    assert report.imported == 1
    (error,) = report.errors
    assert "the Parquet reader crashed (SIGABRT)" in error and "past row 1" in error
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
