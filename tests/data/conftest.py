"""Fixtures for the Data area: real files written to tmp_path, the real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def record(i: int, **extra) -> dict:
    return {"instruction": f"What is technique number {i}?", "input": "",
            "output": f"Technique {i} is a residual convolutional block variant number {i}.",
            "category": "description generation", **extra}


@pytest.fixture
def write_jsonl(tmp_path):
    def write(name: str, records, *, raw_lines: list[bytes] | None = None) -> Path:
        path = tmp_path / name
        with open(path, "wb") as fh:
            for r in records:
                fh.write(json.dumps(r).encode() + b"\n")
            for line in raw_lines or []:
                fh.write(line)
        return path

    return write


@pytest.fixture
def sample_count(store):
    return lambda: store.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
