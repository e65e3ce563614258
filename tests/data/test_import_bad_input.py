"""Every bad-input case from the issue, on real files: good records imported, bad ones reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.datasets.importer import import_paths
from backend.datasets.query import SampleFilter, count
from tests.data.conftest import record

ROOT = Path(__file__).resolve().parents[2]


def test_truncated_json_line_is_rejected_and_the_rest_imported(store, write_jsonl):
    path = write_jsonl("t.jsonl", [record(1)], raw_lines=[b'{"instruction": "cut off", "output": "the ans\n',
                                                          json.dumps(record(3)).encode() + b"\n"])
    report = import_paths(store, [path])
    assert report.imported == 2
    assert [(r.line, r.reason) for r in report.rejected] == [(2, report.rejected[0].reason)]
    assert "invalid JSON" in report.rejected[0].reason and "truncated" in report.rejected[0].reason


def test_missing_required_field_names_the_field(store, write_jsonl):
    path = write_jsonl("m.jsonl", [record(1), {"instruction": "no answer here"}, {"output": "no question"},
                                   {"question": "Which?", "options": ["a", "b"]}])
    report = import_paths(store, [path])
    assert report.imported == 1
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[2] == "missing required field 'output'"
    assert "not a known record shape" in reasons[3]
    assert reasons[4] == "missing required field 'answer'"


def test_invalid_utf8_line_is_rejected_with_its_line_number(store, write_jsonl):
    bad = b'{"instruction": "caf\xe9 \xff", "output": "x"}\n'
    path = write_jsonl("u.jsonl", [record(1)], raw_lines=[bad, json.dumps(record(3)).encode() + b"\n"])
    report = import_paths(store, [path])
    assert report.imported == 2
    assert report.rejected[0].line == 2 and "invalid UTF-8" in report.rejected[0].reason


def test_bom_crlf_and_blank_lines(store, tmp_path, sample_count):
    path = tmp_path / "bom.jsonl"
    lines = [json.dumps(record(i)) for i in range(3)]
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n\r\n".join(line.encode() for line in lines) + b"\r\n\r\n   \r\n")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.errors) == (3, 0, [])
    rows = store.conn.execute("SELECT source_line, output FROM samples ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [1, 3, 5]           # provenance keeps the real line numbers
    assert not any(r[1].endswith("\r") for r in rows)


def test_multi_megabyte_field_is_rejected_without_losing_neighbours(store, write_jsonl):
    huge = record(2, output="word " * 700_000)  # 3.5 MB
    path = write_jsonl("big.jsonl", [record(1), huge, record(3)])
    assert path.stat().st_size > 3_000_000
    report = import_paths(store, [path])
    assert report.imported == 2
    assert report.rejected[0].line == 2 and "field 'output'" in report.rejected[0].reason


def test_over_long_line_is_skipped_in_constant_memory(store, write_jsonl, monkeypatch):
    import backend.datasets.readers as readers

    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 1000)
    path = write_jsonl("long.jsonl", [record(1), record(2, output="x" * 5000), record(3)])
    report = import_paths(store, [path])
    assert report.imported == 2
    assert report.rejected[0].line == 2 and "longer than" in report.rejected[0].reason


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n\n  \r\n", "only blank space"),
    (bytes(range(256)) * 40, "not a text file"),
    (b"\x89PNG\r\n\x1a\n" + os.urandom(4000), "not a text file"),
])
def test_unreadable_files_are_reported_not_raised(store, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    report = import_paths(store, [path, tmp_path / "missing.jsonl"])
    assert report.imported == 0
    assert message in report.errors[0]
    assert "no such file" in report.errors[1]


def test_json_array_with_a_broken_element(store, tmp_path):
    good = [record(i) for i in range(4)]
    text = "[\n" + ",\n".join(json.dumps(r) for r in good[:2]) + ',\n{"instruction": "x", "output": tru},\n' \
        + ",\n".join(json.dumps(r) for r in good[2:]) + "\n]\n"
    path = tmp_path / "arr.json"
    path.write_text(text, "utf-8")
    report = import_paths(store, [path])
    assert report.imported == 4
    assert [r.line for r in report.rejected] == [4]


def test_reimport_adds_nothing_and_normalised_copies_are_duplicates(store, write_jsonl, sample_count):
    path = write_jsonl("a.jsonl", [record(i) for i in range(50)])
    first = import_paths(store, [path])
    again = import_paths(store, [path])
    variant = write_jsonl("b.jsonl", [{**record(7), "output": "  TECHNIQUE 7 is a residual  convolutional block "
                                                              "variant number 7. "}])
    third = import_paths(store, [variant])
    assert (first.imported, again.imported, again.duplicates) == (50, 0, 50)
    assert (third.imported, third.duplicates) == (0, 1)
    assert sample_count() == 50


def test_parquet_rows_any_shape(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([
        {"instruction": "What is LoRA?", "output": "Low-rank adaptation.", "question": None, "options": None,
         "answer": None},
        {"instruction": None, "output": None, "question": "Which is a normaliser?",
         "options": ["Dropout", "LayerNorm", "Adam"], "answer": "B"},
        {"instruction": "no answer", "output": None, "question": None, "options": None, "answer": None},
    ])
    path = tmp_path / "d.parquet"
    pq.write_table(table, path)
    report = import_paths(store, [path], fmt="parquet")
    assert report.imported == 2
    assert report.rejected[0].line == 3
    mcq = store.conn.execute("SELECT answer, options FROM samples WHERE kind='mcq'").fetchone()
    assert mcq[0] == "B" and json.loads(mcq[1])["B"] == "LayerNorm"


def test_corrupt_parquet_is_a_file_error(store, tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00garbage" * 50)
    report = import_paths(store, [path])
    assert report.imported == 0 and "Parquet" in report.errors[0]


def test_hub_dataset_from_the_offline_cache(store, tmp_path, monkeypatch):
    cache = tmp_path / "hf"
    snap = cache / "datasets--deepones--tiny" / "snapshots" / ("a" * 40)
    (snap / "data").mkdir(parents=True)
    (cache / "datasets--deepones--tiny" / "refs").mkdir()
    (cache / "datasets--deepones--tiny" / "refs" / "main").write_text("a" * 40)
    (snap / "data" / "train.jsonl").write_text("\n".join(json.dumps(record(i)) for i in range(5)), "utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    report = import_paths(store, ["hf://deepones/tiny"])
    assert report.imported == 5, report.errors
    assert store.conn.execute("SELECT DISTINCT dataset FROM samples").fetchall() == [("deepones/tiny",)]
    missing = import_paths(store, ["hf://deepones/absent"])
    assert "offline" in missing.errors[0]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=3000),
    st.lists(st.one_of(st.binary(max_size=80), st.sampled_from([
        b'{"instruction": "a", "output": "b"}', b"[", b"]", b",", b"{", b'"', b"\xef\xbb\xbf", b"\r\n", b"\n",
        b'{"question": "q", "options": {"A": 1, "B": 2}, "answer": "A"}', b'{"conversations": [',
        b'{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}',
        b"PAR1", b"\x00", b"\xff\xfe", b"nul", b"1e999", b'{"instruction": {"x": 1}, "output": []}',
    ])), max_size=40).map(b"".join),
))
def test_arbitrary_bytes_never_crash_the_importer(store, tmp_path, data):
    for suffix in (".jsonl", ".json"):
        path = tmp_path / f"fuzz{suffix}"
        path.write_bytes(data)
        report = import_paths(store, [path])
        # Every imported record needs an object in the input; every rejection has a real line and a reason.
        assert report.imported + report.duplicates <= data.count(b"{")
        assert all(1 <= r.line <= data.count(b"\n") + 1 and r.reason for r in report.rejected)
        assert report.errors or report.files == 1
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _big_file(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(record(i, output=f"Answer {i}: " + "a residual block with gating " * 12)) + "\n")
    return path


def test_killed_mid_import_leaves_a_consistent_db_and_rerun_completes(deepones_home, tmp_path):
    from backend.datasets.import_runs import mark_interrupted_imports
    from backend.store import open_store

    n = 60_000
    path = _big_file(tmp_path / "big.jsonl", n)
    db = open_store(deepones_home)
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    code = "import sys; from backend.cli import main; main(['data', 'import', sys.argv[1], '--json'])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = db.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
            if done >= 4000:
                break
            time.sleep(0.02)
        # A start beside a live import leaves its record alone ...
        assert mark_interrupted_imports(db, deepones_home) == 0
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    partial = db.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert 0 < partial < n, "the kill should land mid-import"
    # ... and the next start marks the killed one interrupted.
    assert db.conn.execute("SELECT status FROM sample_imports").fetchone()[0] == "running"
    stats = subprocess.run([sys.executable, "-m", "deepones_gui", "data", "stats"], cwd=ROOT, env=env, timeout=120,
                           capture_output=True)
    assert stats.returncode == 0, stats.stderr
    assert db.conn.execute("SELECT status, message FROM sample_imports").fetchone()[0] == "interrupted"
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.conn.execute("INSERT INTO samples_fts(samples_fts) VALUES ('integrity-check')")
    # Whole batches only: the batch in flight was rolled back, with its count in the import's log,
    # and what was kept is the file's first lines, in order.
    assert db.conn.execute("SELECT imported FROM sample_imports").fetchone()[0] == partial
    assert db.conn.execute("SELECT max(source_line) FROM samples").fetchone()[0] == partial
    assert db.conn.execute("SELECT count(*) FROM samples_fts").fetchone()[0] == partial
    report = import_paths(db, [path])
    assert (report.imported, report.duplicates, report.rejected_total) == (n - partial, partial, 0)
    assert count(db, SampleFilter()) == n
    # Rows are browsable at once; the search index catches up behind them (where the killed
    # CLI left it) without indexing anything twice.
    from backend.datasets.indexing import coverage, index_pending

    assert coverage(db).pending > 0
    index_pending(db)
    assert coverage(db).complete
    db.conn.execute("INSERT INTO samples_fts(samples_fts) VALUES ('integrity-check')")
    assert count(db, SampleFilter(query="technique 59999")) >= 1
    db.conn.close()


# --- every record accounted for (issue 22, item 4) -------------------------------------------------------

def _nested(i: int) -> dict:
    """A record holding objects that look like records themselves: never to be imported on their own."""
    return record(i, extra={"examples": [{"instruction": f"inner {i}", "output": "inner answer"}]})


def _accounted(report) -> None:
    assert report.errors == []
    assert report.imported + report.duplicates + report.rejected_total == report.records


def test_concatenated_pretty_records_one_bad_keeps_every_later_record(store, tmp_path, sample_count):
    parts = [json.dumps(_nested(i), indent=2) for i in range(100)]
    parts[2] = parts[2].replace('"category": "description generation"', '"category": tru', 1)
    path = tmp_path / "concat.json"
    path.write_text("\n".join(parts) + "\n", "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.records) == (99, 1, 100)
    assert "invalid JSON" in report.rejected[0].reason
    assert report.rejected[0].line == 1 + sum(p.count("\n") + 1 for p in parts[:2])
    assert sample_count() == 99
    _accounted(report)


def test_jsonl_whose_first_line_starts_with_a_bracket_is_read_line_by_line(store, tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_text("[not a record\n" + "".join(json.dumps(record(i)) + "\n" for i in range(97)), "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.records) == (97, 1, 98)
    assert report.rejected[0].line == 1
    _accounted(report)


@pytest.mark.parametrize("one_line", [False, True], ids=["pretty", "one-line"])
def test_array_resync_never_imports_an_object_from_inside_a_broken_element(store, tmp_path, one_line):
    elements = [json.dumps(_nested(i)) for i in range(10)]
    # a missing comma inside element 4: its nested objects are well-formed records on their own
    elements[4] = ('{"meta": {"a": 1} "items": [{"instruction": "inside 1", "output": "x"}, '
                   '{"instruction": "inside 2", "output": "y"}]}')
    text = ("[" + ", ".join(elements) + "]") if one_line else ("[\n" + ",\n".join(elements) + "\n]\n")
    path = tmp_path / "arr.json"
    path.write_text(text, "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.records) == (9, 1, 10)
    assert report.rejected[0].line == (1 if one_line else 6)
    inside = store.conn.execute("SELECT count(*) FROM samples WHERE instruction LIKE 'inside%'").fetchone()[0]
    assert inside == 0
    _accounted(report)


def test_nested_broken_record_in_a_stream_is_skipped_whole(store, tmp_path):
    parts = [json.dumps(_nested(i), indent=2) for i in range(6)]
    broken = _nested(3)
    broken["extra"]["examples"].append({"instruction": "inside", "output": "x"})
    parts[3] = json.dumps(broken, indent=2).replace('"output": "x"', '"output": "x" "oops": 1', 1)
    path = tmp_path / "nested.json"
    path.write_text("\n".join(parts), "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.records) == (5, 1, 6)
    assert store.conn.execute("SELECT count(*) FROM samples WHERE instruction = 'inside'").fetchone()[0] == 0
    _accounted(report)


@pytest.mark.parametrize("damage", ["missing brace", "missing quote"])
def test_unprovable_boundary_rejects_the_rest_with_one_line_that_counts_it(store, tmp_path, damage):
    parts = [json.dumps(_nested(i), indent=2) for i in range(10)]
    parts[4] = parts[4][:-2] if damage == "missing brace" else parts[4].replace('"What', '"What "x', 1)
    path = tmp_path / "damaged.json"
    path.write_text("\n".join(parts) + "\n", "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total, report.records) == (4, 6, 10)
    assert len(report.rejected) == 1
    assert "rest of the file" in report.rejected[0].reason and "6 records not imported" in report.rejected[0].reason
    _accounted(report)


@pytest.mark.parametrize("name", ["s.json", "s.jsonl"])
def test_lone_surrogate_is_a_per_record_rejection(store, tmp_path, name):
    records = [record(1, output="bad \\ud800 text"), record(2, output="pair \\ud83d\\ude00 ok"), record(3)]
    lines = [json.dumps(r).replace("\\\\u", "\\u") for r in records]
    path = tmp_path / name
    path.write_text(("[" + ",\n".join(lines) + "]") if name.endswith(".json") else "\n".join(lines) + "\n", "utf-8")
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total) == (2, 1)
    assert "surrogate" in report.rejected[0].reason
    _accounted(report)


def test_array_element_cap_holds_memory_bounded(store, tmp_path, monkeypatch):
    import tracemalloc

    import backend.datasets.readers as readers

    monkeypatch.setattr(readers, "MAX_ELEMENT_CHARS", 1024 * 1024)
    huge = record(2, output="x" * (12 * 1024 * 1024))
    path = tmp_path / "huge.json"
    path.write_text(json.dumps([record(1), huge, record(3)]), "utf-8")
    tracemalloc.start()
    try:
        report = import_paths(store, [path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (report.imported, report.rejected_total) == (2, 1)
    assert "longer than" in report.rejected[0].reason
    assert peak < 6 * 1024 * 1024, peak   # the cap plus a read or two, not the 12 MB element (or 3x it)
