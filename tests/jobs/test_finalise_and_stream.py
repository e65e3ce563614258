"""One job, one event stream, one final record (issue 26, item 7), against real jobs and a real store.

A job's end is recorded by ``finalise_job`` alone, once, whoever calls it and from however many
threads; a design run's output, its live chart and its final record all come from the job's one
stream, so its log is tailed once and its metrics parsed once (in one metric child).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from backend.jobs import records, start_job
from backend.jobs.finalise import finalise_job
from backend.jobs.status import read_status
from backend.jobs.watch import open_stream
from tests.jobs.conftest import program

LIVE = """
    import sys, time
    for i in range(1, 6):
        print(f"step {i}: loss={1 / i}", flush=True)
        time.sleep(0.1)
    print("done", file=sys.stderr)
"""


def _db_path(db) -> Path:
    return Path(db.conn.execute("PRAGMA database_list").fetchone()[2])


def test_finalising_twice_or_from_two_threads_records_once(jobs_root):
    from backend.store import connection, open_store

    db = open_store(jobs_root)
    handle = start_job(program(LIVE), root=jobs_root, db=db)
    result = handle.wait()
    status = read_status(handle.workdir)
    barrier, outcomes = threading.Barrier(2), []

    def finish() -> None:
        with connection(_db_path(db)) as own:  # SQLite connections stay on their thread
            barrier.wait()
            outcomes.append(finalise_job(own, result, status))

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == [False, True]  # exactly one of them recorded it
    assert finalise_job(db, result, status) is False  # a third call: nothing more
    assert records.sync_jobs(db) == []  # the reconciliation finds nothing to do
    row = records.get_job(db, handle.job_id)
    assert row["status"] == "succeeded" and row["exit_code"] == 0
    points = db.conn.execute(
        "SELECT step, value FROM metrics WHERE job_id=? ORDER BY step", (handle.job_id,)
    ).fetchall()
    assert points == [(1.0, 1.0), (2.0, 0.5), (3.0, 1 / 3), (4.0, 0.25), (5.0, 0.2)]  # not doubled
    db.conn.close()


def test_one_stream_per_job_a_late_subscriber_gets_what_was_sent_then_the_rest(jobs_root, metric_children):
    children = metric_children
    handle = start_job(program(LIVE), root=jobs_root)
    first, late = [], []
    stream = open_stream(handle.job_id, handle.workdir)
    unsubscribe = stream.subscribe(first.append)
    deadline = threading.Event()
    while not any(e.kind == "metrics" for e in first) and not deadline.wait(0.05):
        pass
    again = open_stream(handle.job_id, handle.workdir)  # the chart of the same job: the same stream
    assert again is stream
    again.subscribe(late.append)
    assert stream.wait(30)["status"] == "succeeded"
    unsubscribe()
    assert len(children) == 1  # one metric child for both
    for events in (first, late):
        loss = np.concatenate([e.payload["loss"][0] for e in events if e.kind == "metrics"])
        assert loss.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # every point once, replay included
        out = "".join(e.payload[1] for e in events if e.kind == "output" and e.payload[0] == "stdout")
        assert out.count("loss=") == 5
        assert events[-1].kind == "ended"
    from backend.jobs.metrics import parse_file_columns

    columns, parsed = stream.metric_columns(), parse_file_columns(handle.workdir / "stdout.log")
    assert columns.keys() == parsed.keys() and all(
        np.array_equal(columns[k][1], parsed[k][1]) for k in parsed
    )
    # Shown again after the end (a stage selected once more): the ended stream replays, nothing new runs.
    assert open_stream(handle.job_id, handle.workdir, follow=False) is stream and len(children) == 1


def test_a_design_run_tails_and_parses_its_log_once(jobs_root, monkeypatch):
    """Output to the runner, points to a chart opened when the run starts, the final record's
    metrics: one stream, one metric child, and no parse of the log in this process."""
    from backend import paths
    from backend.jobs import watch
    from backend.pipeline import SessionSettings, sandbox
    from backend.store import open_store

    children = []
    real = watch._MetricChild.__init__
    monkeypatch.setattr(
        watch._MetricChild, "__init__", lambda self, *a: (real(self, *a), children.append(self.proc.pid))[0]
    )
    monkeypatch.setattr(
        "backend.jobs.metrics.parse_file_columns",
        lambda *a, **k: (_ for _ in ()).throw(AssertionError("the log was parsed again")),
    )
    db = open_store(jobs_root)
    output, chart = [], []

    def on_start(job_id: str) -> None:  # what the Design page's live chart does on "running"
        workdir = paths.jobs_dir(jobs_root) / job_id

        def on_event(e) -> None:
            if e.kind == "metrics":
                chart.append(e.payload)
            elif e.kind == "metrics_ready":  # the program starts printing once the child reads along
                (workdir / "go").write_text("")

        open_stream(job_id, workdir).subscribe(on_event)

    code = (
        "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.01)\n"
        "for i in range(1, 4):\n    print(f'epoch={i} loss={1 / i}', flush=True)\n    time.sleep(0.05)\n"
        "open('metric.log', 'w').write('0.9')\n"
    )
    run = sandbox.run_program(
        code,
        "validate",
        SessionSettings(time_limit_s=60),
        root=jobs_root,
        db=db,
        on_output=lambda stream, text: output.append(text),
        on_start=on_start,
    )
    assert run.score == 0.9 and "".join(output).count("loss=") == 3
    assert len(children) == 1
    assert sum(len(c["loss"][0]) for c in chart) == 3
    assert records.get_job(db, run.job_id)["status"] == "succeeded"
    assert records.metric_series(db, run.job_id)["loss"] == [(1.0, 1.0), (2.0, 0.5), (3.0, 1 / 3)]
    db.conn.close()
