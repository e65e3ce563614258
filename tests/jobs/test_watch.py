"""The Qt-free observation layer against real jobs: watch_job events, the metric follower child,
reconciliation, the log tailer, the crash-guarded NVML sampler, plugins disabled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend.jobs import start_job
from backend.jobs.executors import get_executor
from backend.jobs.tail import LogTailer
from backend.jobs.watch import watch_job
from tests.jobs.conftest import program

LIVE = """
    import sys, time
    for i in range(1, 6):
        print(f"step {i}: loss={1 / i}", flush=True)
        time.sleep(0.15)
    print("done", file=sys.stderr)
"""


def test_watch_job_streams_output_metrics_status_and_end_with_the_job_id(jobs_root):
    handle = get_executor("local", root=jobs_root).submit(program(LIVE))
    events = list(watch_job(handle.job_id, handle.workdir, output=True, metrics=True))
    assert {e.job_id for e in events} == {handle.job_id}
    kinds = [e.kind for e in events]
    assert kinds[0] == "status" and kinds[-1] == "ended" and events[-1].payload["status"] == "succeeded"
    steps, values = [], []
    for e in events:
        if e.kind == "metrics":
            steps += e.payload["loss"][0].tolist()       # float64 columns, decoded without a copy
            values += e.payload["loss"][1].tolist()
    assert steps == [1.0, 2.0, 3.0, 4.0, 5.0] and values == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    out = "".join(e.payload[1] for e in events if e.kind == "output" and e.payload[0] == "stdout")
    err = "".join(e.payload[1] for e in events if e.kind == "output" and e.payload[0] == "stderr")
    assert out.count("loss=") == 5 and err == "done\n"
    assert "running" in [e.payload.get("status") for e in events if e.kind == "status"]


def test_watching_a_finished_job_reads_it_once_and_ends(jobs_root):
    handle = start_job(program(LIVE), root=jobs_root)
    handle.wait()
    events = list(watch_job(handle.job_id, handle.workdir, output=False, metrics=True, follow=False))
    points = sum(len(e.payload["loss"][0]) for e in events if e.kind == "metrics")
    assert points == 5 and events[-1].kind == "ended"


def test_metric_follower_parses_in_a_child_process(jobs_root, monkeypatch, metric_children):
    """The GUI process must not parse: the watcher's metrics come from a child."""
    started = metric_children
    monkeypatch.setattr("backend.jobs.metrics.MetricExtractor.feed_block",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed in-process")))
    handle = start_job(program(LIVE), root=jobs_root)
    handle.wait()
    events = list(watch_job(handle.job_id, handle.workdir, output=False, metrics=True, follow=False))
    assert started and started[0] != os.getpid()
    assert any(e.kind == "metrics" for e in events)


def test_log_tailer_continues_after_the_capped_log_shrinks(tmp_path):
    log = tmp_path / "stdout.log"
    log.write_bytes(b"a" * 100)
    tailer = LogTailer(tmp_path, ("stdout",))
    assert tailer.read("stdout") == b"a" * 100
    log.write_bytes(b"head\n[deepones: omitted]\n")     # the supervisor rewrote the tail: smaller now
    assert tailer.read("stdout") == b""
    with open(log, "ab") as fh:
        fh.write(b"new\n")
    assert tailer.read("stdout") == b"new\n"


def test_reconcile_records_finished_jobs_in_a_child(jobs_root, tmp_path):
    from backend.jobs import records
    from backend.jobs.reconcile import reconcile_jobs
    from backend.store import connection, open_store

    db = open_store(jobs_root)
    db_path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    handle = start_job(program(LIVE), root=jobs_root, db=db)
    handle.wait()
    assert records.get_job(db, handle.job_id)["status"] == "queued"    # nobody recorded the end yet
    with connection(db_path) as own:
        changed = reconcile_jobs(own, db_path)
    assert changed == [handle.job_id]
    assert records.get_job(db, handle.job_id)["status"] == "succeeded"
    assert records.job_metric_names(db, handle.job_id) == ["loss"]
    db.conn.close()


def test_a_crashing_nvml_sampler_is_an_error_message_not_a_crash(tmp_path, monkeypatch):
    from backend import gpu

    fake = tmp_path / "nvml.py"
    fake.write_text("import os, signal\ndef main():\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr(gpu, "_SAMPLER", fake)
    monkeypatch.setattr(gpu, "_unavailable", None)
    rows, err = gpu._sample_in_child()
    assert rows == [] and "crashed (SIGSEGV)" in err
    assert gpu.sample_gpus() == []              # callers get "no GPU", this process lives on
    assert "crashed" in gpu.nvml_status()


def test_metric_parsers_work_with_plugins_disabled(tmp_path):
    code = ("from backend.jobs.metrics import parse_lines\n"
            "print([(p.name, p.value, p.step) for p in parse_lines(['Epoch [1/2], Step [10/10], Loss: 0.25'])])")
    env = {**os.environ, "DEEPONES_LOAD_PLUGINS": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[('loss', 0.25, 10.0)]"


def test_the_shipped_supervisor_files_run_a_job_on_their_own(jobs_root, tmp_path):
    """What a remote executor ships (supervisor.SUPERVISOR_FILES) runs as a lean script (-I -S)."""
    import shutil

    from backend.jobs import supervisor
    from backend.jobs.runner import prepare_job
    from backend.jobs.status import read_status

    ship = tmp_path / "node"
    ship.mkdir()
    for name in supervisor.SUPERVISOR_FILES:
        shutil.copyfile(Path(supervisor.__file__).parent / name, ship / name)
    _, workdir, env, _ = prepare_job(program("print('loss: 0.5')"), jobs_root)
    out = subprocess.run([sys.executable, "-I", "-S", str(ship / "supervisor.py"), str(workdir)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    st = read_status(workdir)
    assert st["status"] == "succeeded" and (workdir / "stdout.log").read_text() == "loss: 0.5\n"
