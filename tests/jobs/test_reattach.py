"""Jobs outlive the process that started them: re-attach after a restart, vanished ones become lost."""

from __future__ import annotations

import json
import os
import signal
import time

from backend.jobs import JobLimits, records, start_job
from backend.jobs.runner import JobHandle, read_status
from backend.store import open_store
from tests.jobs.conftest import gone, program

SLOW = """
    import time
    for i in range(6):
        print(f"Epoch [{i + 1}/6], Step [1/1], Loss: {1.0 / (i + 1):.3f}", flush=True)
        time.sleep(0.25)
    open("metric.log", "w").write("0.5")
"""


def test_reattach_after_gui_restart(jobs_root):
    # "GUI" session 1 starts a job and goes away without waiting for it.
    db1 = open_store(jobs_root)
    handle = start_job(program(SLOW, name="survivor"), root=jobs_root, db=db1)
    job_id, workdir = handle.job_id, handle.workdir
    db1.conn.close()
    del handle

    # Session 2: a fresh connection and no process handle, only the store and the job dir.
    db2 = open_store(jobs_root)
    deadline = time.monotonic() + 5
    while read_status(workdir).get("status") != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    records.sync_jobs(db2)
    assert db2["jobs"].get(job_id)["status"] == "running"
    reattached = JobHandle(job_id, workdir)
    assert reattached.is_running()
    seen = []
    result = reattached.wait(on_output=lambda stream, text: seen.append(text))
    assert result.status == "succeeded" and result.score == 0.5
    assert "Loss: 0.167" in "".join(seen)
    assert records.sync_jobs(db2) == [job_id]
    row = db2["jobs"].get(job_id)
    assert row["status"] == "succeeded" and row["score"] == 0.5 and row["ended_at"]
    losses = [r["value"] for r in db2.query("SELECT value FROM metrics WHERE job_id=? AND name='loss' ORDER BY step",
                                            [job_id])]
    assert losses[0] == 1.0 and len(losses) == 6
    db2.conn.close()


def test_vanished_supervisor_marks_the_job_lost_and_stops_its_program(jobs_root):
    db = open_store(jobs_root)
    spec = program("import time\nprint('up', flush=True)\ntime.sleep(300)\n", limits=JobLimits(kill_grace_s=0.5))
    handle = start_job(spec, root=jobs_root, db=db)
    deadline = time.monotonic() + 5
    while read_status(handle.workdir).get("status") != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    status = read_status(handle.workdir)
    os.kill(status["supervisor_pid"], signal.SIGKILL)  # the supervisor dies (OOM killer, kill -9, ...)
    assert gone(status["supervisor_pid"])
    deadline = time.monotonic() + 5
    while handle.is_running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert records.sync_jobs(db) == [handle.job_id]
    row = db["jobs"].get(handle.job_id)
    assert row["status"] == "lost"
    assert json.loads((handle.workdir / "status.json").read_text())["status"] == "lost"
    assert gone(status["pid"]), "the orphaned program was left running"
    db.conn.close()


def test_gpu_queue_runs_one_job_per_gpu_at_a_time(jobs_root):
    from backend.settings import Settings, save_settings

    save_settings(Settings(jobs_per_gpu=1), jobs_root)
    src = "import os, time\nprint(os.environ['CUDA_VISIBLE_DEVICES'])\ntime.sleep(0.6)\n"
    first = start_job(program(src, gpu="0"), root=jobs_root)
    second = start_job(program(src, gpu="0"), root=jobs_root)
    r1, r2 = first.wait(), second.wait()
    assert r1.status == r2.status == "succeeded"
    s1, s2 = read_status(first.workdir), read_status(second.workdir)
    a, b = sorted([s1, s2], key=lambda s: s["started_at"])
    assert b["started_at"] >= a["ended_at"] - 0.05, "two jobs shared one GPU slot"
    assert r1.stdout_path.read_text().strip() == "0"
