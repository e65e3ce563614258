"""Streaming import: Python memory does not grow with the file (constant per batch)."""

from __future__ import annotations

import json
import tracemalloc

from backend.datasets.importer import import_paths
from tests.data.conftest import record


def _peak_for(store, tmp_path, n: int, name: str) -> int:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps(record(i + ({"warm-up.jsonl": 2 * 10**7, "small.jsonl": 0}.get(name, 10**7)),
                                       output=f"answer {i} " + "residual block " * 40)) + "\n")
            if i % 97 == 0:
                fh.write("{not json\n")  # rejections are kept, but only the first 1,000
    tracemalloc.start()
    report = import_paths(store, [path], batch_size=500)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.imported == n
    return peak


def test_memory_stays_flat_as_the_file_grows(store, tmp_path):
    _peak_for(store, tmp_path, 300, "warm-up.jsonl")  # first-use costs (imports, caches) out of the way
    small = _peak_for(store, tmp_path, 1_500, "small.jsonl")
    large = _peak_for(store, tmp_path, 12_000, "large.jsonl")  # 8x the records
    print(f"peak: {small:,} B for 1,500 records, {large:,} B for 12,000")
    assert large < small * 1.5 + 1_000_000, (small, large)
    assert large < 15 * 2**20
