"""Exports of traces shaped by someone else's file (issue 22, "the rest"): stage names that are no file
names, and a debug chain thousands of attempts deep."""

from __future__ import annotations

import time

from backend.traces.export_html import write_html
from backend.traces.export_json import write_json
from backend.traces.model import Attempt, Trace


def _trace(attempts: list[Attempt]) -> Trace:
    return Trace(session_id=1, title="t", task="demo-digits", task_description="", designer="d", programmer="p",
                 status="imported", created_at=0.0, outcome="failed", attempts=attempts)


def test_stage_names_become_safe_file_names(tmp_path):
    stages = ["../../escape", "a\x00b", "x" * 300, "/abs/path", "..", "ok"]
    trace = _trace([Attempt(id=i + 1, parent_id=i or None, stage=s, attempt=0, status="failed", code=f"print({i})")
                    for i, s in enumerate(stages)])
    out = tmp_path / "deep" / "t.json"
    out.parent.mkdir()
    written = write_json(trace, out)
    assert len(written) == 1 + len(stages)
    folder = out.parent / "t_code"
    for path in written[1:]:
        assert path.parent == folder and path.exists() and len(path.name) < 80 and "\x00" not in path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]   # nothing escaped the folder


def test_html_export_of_a_3000_deep_chain(tmp_path):
    n = 3000
    attempts = [Attempt(id=1, parent_id=None, stage="implement", attempt=0, status="failed", code="x = 1\n",
                        error_type="RuntimeError", stderr="Traceback (most recent call last):\nRuntimeError: x")]
    attempts += [Attempt(id=i, parent_id=i - 1, stage="debug", attempt=i - 1, status="failed",
                         code=f"x = {i}\n", error_type="RuntimeError", debug_log=f"step {i}: tried {i}")
                 for i in range(2, n + 1)]
    started = time.monotonic()
    out = write_html([_trace(attempts)], tmp_path / "deep.html")
    took = time.monotonic() - started
    html = out.read_text("utf-8")
    assert html.count("<ul>") == n and html.count("</ul>") == n
    assert f"step {n}: tried {n}" in html
    assert out.stat().st_size < 50 * 2**20, out.stat().st_size   # no n² repetition of the debug log
    assert took < 45, took
