"""Hostile programs against the real sandbox: every test starts real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import pytest

from backend.jobs import JobLimits, run_job
from tests.jobs.conftest import gone, none_left, program


def test_plain_program_streams_output_and_records_score(jobs_root, store):
    seen = []
    spec = program("""
        import os, sys
        print("hello", sys.argv[1:], os.environ["DEEPONES_TRAIN_TIME_LIMIT"])
        print("warning", file=sys.stderr)
        print("{'loss': 0.5, 'epoch': 1.0}")
        open("metric.log", "w").write("0.875\\n")
    """, args=["a b"], name="hello")
    result = run_job(spec, root=jobs_root, db=store, on_output=lambda stream, text: seen.append((stream, text)))
    assert result.status == "succeeded" and result.exit_code == 0
    assert result.score == pytest.approx(0.875)
    out = "".join(t for s, t in seen if s == "stdout")
    assert "hello ['a b'] 3600" in out
    assert "warning" in "".join(t for s, t in seen if s == "stderr")
    assert result.stdout_path.read_text().startswith("hello")
    row = store["jobs"].get(result.job_id)
    assert row["status"] == "succeeded" and row["score"] == pytest.approx(0.875)
    metrics = list(store.query("SELECT name, step, value FROM metrics WHERE job_id=?", [result.job_id]))
    assert metrics == [{"name": "loss", "step": 1.0, "value": 0.5}]


def test_failing_program_reports_exit_code(jobs_root):
    result = run_job(program("import sys; sys.exit(3)"), root=jobs_root)
    assert result.status == "failed" and result.exit_code == 3 and "code 3" in result.reason


def test_endless_loop_is_stopped_at_the_time_limit(jobs_root):
    spec = program("while True:\n    pass\n", limits=JobLimits(time_limit_s=1.5, kill_grace_s=0.5))
    t0 = time.monotonic()
    result = run_job(spec, root=jobs_root)
    assert result.status == "timeout", result
    assert 1.4 < result.wall_s < 4.0
    assert time.monotonic() - t0 < 8
    assert gone(run_status_pid(result))


def test_program_ignoring_sigterm_is_killed_after_the_grace(jobs_root):
    spec = program("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        while True:
            time.sleep(0.1)
    """, limits=JobLimits(time_limit_s=1.0, kill_grace_s=0.5))
    result = run_job(spec, root=jobs_root)
    assert result.status == "timeout"
    assert result.wall_s < 4.0
    assert gone(run_status_pid(result))


def test_memory_hog_is_stopped_at_a_small_memory_limit(jobs_root):
    # Grows by 16 MB every 20 ms up to 2 GB; the limit is 200 MB for the whole tree.
    spec = program("""
        import time
        hog = []
        for _ in range(128):
            hog.append(bytearray(16 * 2**20))   # bytearray zero-fills: the pages are resident
            time.sleep(0.02)
        print("survived")
    """, limits=JobLimits(memory_limit_mb=200, kill_grace_s=0.5))
    result = run_job(spec, root=jobs_root)
    assert result.status == "memory", result
    assert "exceeded the limit of 200 MB" in result.reason
    assert 200 < result.peak_rss_mb < 500  # stopped long before the 2 GB it wanted
    assert "survived" not in result.stdout_path.read_text()


@pytest.mark.parametrize("confine", [True, False], ids=["confined", "unconfined"])
def test_children_and_setsid_daemon_do_not_outlive_the_job(jobs_root, confine):
    _children_and_daemon_case(jobs_root, confine)


def _children_and_daemon_case(jobs_root, confine: bool) -> None:
    spec = program("""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open("child.pid", "w").write(str(child.pid))
        if os.fork() == 0:              # classic double-fork daemon that leaves the session
            os.setsid()
            if os.fork() == 0:
                open("daemon.pid", "w").write(str(os.getpid()))
                time.sleep(300)
            os._exit(0)
        while not os.path.exists("daemon.pid"):
            time.sleep(0.01)
        print("parent done")
    """)
    spec.confine = confine
    result = run_job(spec, root=jobs_root)
    assert result.status == "succeeded", result
    assert none_left(result.job_id), "a child or a setsid daemon outlived its job"
    if not confine:   # the pids the program wrote down are ours too
        child = int((result.workdir / "child.pid").read_text())
        daemon = int((result.workdir / "daemon.pid").read_text())
        assert os.getsid(0) != _sid_or_none(daemon)
        assert gone(child), "a child outlived its job"
        assert gone(daemon), "a setsid daemon outlived its job"


def test_cancel_stops_the_program_and_its_daemon(jobs_root):
    spec = program("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open("daemon.pid", "w").write(str(os.getpid()))
                time.sleep(300)
            os._exit(0)
        print("working", flush=True)
        time.sleep(300)
    """)
    cancel = threading.Event()
    out = []

    def on_output(stream, text):
        out.append(text)
        if "working" in text:
            cancel.set()

    result = run_job(spec, root=jobs_root, on_output=on_output, cancel=cancel)
    assert result.status == "cancelled", result
    assert (result.workdir / "daemon.pid").exists()
    assert none_left(result.job_id), "the daemon outlived the cancelled job"
    assert gone(run_status_pid(result))


def test_output_flood_is_capped_keeping_head_and_tail(jobs_root):
    # 300 MB of output against a 1 MB log cap.
    spec = program("""
        import sys
        out = sys.stdout.buffer
        out.write(b"FIRST LINE\\n")
        block = (b"x" * 1023 + b"\\n") * 1024
        for _ in range(300):
            out.write(block)
        out.write(b"LAST LINE\\n")
    """, limits=JobLimits(max_log_mb=1, kill_grace_s=0.5))
    t0 = time.monotonic()
    result = run_job(spec, root=jobs_root)
    assert result.status == "succeeded", result
    assert time.monotonic() - t0 < 30
    data = result.stdout_path.read_bytes()
    assert len(data) < 1.1 * 2**20
    assert data.startswith(b"FIRST LINE\n")
    assert data.rstrip().endswith(b"LAST LINE")
    assert b"bytes of output omitted here" in data


def test_secret_environment_variables_are_absent(jobs_root, monkeypatch):
    secrets = {"OPENAI_API_KEY": "sk-secret-1", "HF_TOKEN": "hf_secret2", "AWS_SECRET_ACCESS_KEY": "aws-secret-3",
               "AWS_ACCESS_KEY_ID": "AKIA-secret-4", "DB_PASSWORD": "pw-secret-5", "MY_SERVICE_TOKEN": "tok-secret-6",
               "GITHUB_TOKEN": "ghp-secret-7", "ALLOWED_API_KEY": "allowed-8"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARMLESS_SETTING", "not-on-the-list-9")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw-secret-10@db/x")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    spec = program("""
        import os
        for name, value in sorted(os.environ.items()):
            print(f"{name}={value}")
    """, allow_env=["ALLOWED_API_KEY"], env={"TASK_SETTING": "own-11"})
    result = run_job(spec, root=jobs_root)
    out = result.stdout_path.read_text()
    for name, value in secrets.items():
        if name == "ALLOWED_API_KEY":
            assert f"{name}={value}" in out
        else:
            assert value not in out, f"{name} leaked into the job"
    # An allow-list: a name nobody listed stays out, listed names and the task's own pass.
    assert "not-on-the-list-9" not in out and "pw-secret-10" not in out
    assert "OMP_NUM_THREADS=3" in out and "TASK_SETTING=own-11" in out
    # The scrubbed names are recorded (names only, never values).
    status = (result.workdir / "status.json").read_text()
    assert "OPENAI_API_KEY" in status and "sk-secret-1" not in status


CONNECT = """
    import socket, sys
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
        print("connected")
    except OSError as exc:
        print("refused:", exc)
        sys.exit(3)
"""


def test_no_network_refuses_a_loopback_connection(jobs_root):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = str(server.getsockname()[1])
    try:
        control = run_job(program(CONNECT, args=[port]), root=jobs_root)
        assert control.status == "succeeded" and "connected" in control.stdout_path.read_text()
        isolated = run_job(program(CONNECT, args=[port], no_network=True), root=jobs_root)
        assert isolated.status == "failed", isolated
        assert "refused:" in isolated.stdout_path.read_text()
    finally:
        server.close()


def test_no_network_without_any_isolation_tool_refuses_to_start(jobs_root, monkeypatch):
    from backend.jobs import JobError, environment

    monkeypatch.setattr(environment, "_net_prefix_cache", None)
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    with pytest.raises(JobError, match="not started"):
        run_job(program(CONNECT, args=["1"], no_network=True), root=jobs_root)
    monkeypatch.setattr(environment, "_net_prefix_cache", None)


def test_file_size_limit(jobs_root):
    spec = program("""
        with open("big.bin", "wb") as fh:
            for _ in range(8):
                fh.write(b"0" * 2**20)
        print("wrote everything")
    """, limits=JobLimits(max_file_size_mb=2, kill_grace_s=0.5))
    result = run_job(spec, root=jobs_root)
    assert result.status == "failed"
    # Python ignores SIGXFSZ, so the write fails with EFBIG; other programs die of SIGXFSZ.
    assert result.signal == signal.SIGXFSZ or "File too large" in result.stderr_path.read_text()
    assert "file size limit" in result.reason
    assert "wrote everything" not in result.stdout_path.read_text()
    assert (result.workdir / "big.bin").stat().st_size <= 2 * 2**20


def test_process_count_limit(jobs_root):
    spec = program("""
        import subprocess, sys, time
        procs = [subprocess.Popen(["sleep", "120"]) for _ in range(40)]
        print("started", len(procs), flush=True)
        time.sleep(60)
        print("still here")
    """, limits=JobLimits(max_processes=10, kill_grace_s=0.5))
    t0 = time.monotonic()
    result = run_job(spec, root=jobs_root)
    assert result.status == "failed" and "processes exceed the limit of 10" in result.reason, result
    # Stopped at a check soon after the fork burst, not at the program's end 60 s later (the margin
    # is wide because starting 40 processes on a loaded 2-core CI machine takes seconds by itself).
    assert time.monotonic() - t0 < 30
    assert "still here" not in result.stdout_path.read_text()
    status = json.loads((result.workdir / "status.json").read_text())
    assert status["max_processes_seen"] > 10
    if status["isolation"]["pids_cgroup"]:  # the kernel-side fork-bomb cap sits well above the limit
        cgroup = status["isolation"]["pids_cgroup"]
        assert not os.path.exists(cgroup), "the job's cgroup was not removed"


def run_status_pid(result) -> int:
    import json

    return int(json.loads((result.workdir / "status.json").read_text())["pid"])


def _sid_or_none(pid: int):
    try:
        return os.getsid(pid)
    except ProcessLookupError:
        return None
