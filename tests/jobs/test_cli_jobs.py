"""The job CLI end to end, in real subprocesses: deepones run / jobs / metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from backend.jobs.demo import demo_source

CLI = [sys.executable, "-m", "deepones_gui"]


def deepones(*args, home, timeout=120, **kw):
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, **kw)


def test_run_demo_training_streams_output_and_ends_with_json(deepones_home, tmp_path):
    prog = tmp_path / "train_digits.py"
    prog.write_text(demo_source())
    out = deepones("run", "--time-limit", "120", "--memory-limit", "2G", str(prog), "--epochs", "3", "--subset", "500",
                   home=deepones_home)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["status"] == "succeeded" and result["exit_code"] == 0
    assert 0.0 < result["score"] <= 1.0 and result["peak_rss_mb"] > 50  # torch really ran
    assert any(line.startswith("Epoch [3/3]") for line in lines)
    assert set(result) == {"job_id", "status", "exit_code", "score", "wall_s", "peak_rss_mb"}

    listed = deepones("jobs", "list", home=deepones_home)
    assert result["job_id"] in listed.stdout and "succeeded" in listed.stdout
    header = listed.stdout.splitlines()[0].split()
    assert header == ["JOB", "STATUS", "WALL", "SCORE", "NAME"]   # a column header, then one job per line
    shown = json.loads(deepones("jobs", "show", result["job_id"], home=deepones_home).stdout)
    assert shown["score"] == result["score"]
    assert {"loss", "val_accuracy", "val_loss", "learning_rate"} <= set(shown["metrics"])
    logs = deepones("jobs", "logs", result["job_id"][:17], home=deepones_home)
    assert "final validation accuracy" in logs.stdout


def test_run_failure_exit_code_and_option_passing(deepones_home, tmp_path):
    prog = tmp_path / "fail.py"
    prog.write_text("import sys\nprint('argv', sys.argv[1:])\nsys.exit(4)\n")
    out = deepones("run", str(prog), "--time-limit", "5", home=deepones_home)
    assert out.returncode == 1
    assert "argv ['--time-limit', '5']" in out.stdout  # options after the program belong to the program
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "failed" and result["exit_code"] == 4 and result["score"] is None


def test_run_time_limit_and_missing_program(deepones_home, tmp_path):
    prog = tmp_path / "spin.py"
    prog.write_text("while True:\n    pass\n")
    out = deepones("run", "--time-limit", "1", str(prog), home=deepones_home)
    assert out.returncode == 1 and json.loads(out.stdout.strip().splitlines()[-1])["status"] == "timeout"
    missing = deepones("run", str(tmp_path / "nope.py"), home=deepones_home)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_jobs_cancel_from_another_process(deepones_home, tmp_path):
    prog = tmp_path / "sleepy.py"
    prog.write_text("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    runner = subprocess.Popen([*CLI, "run", str(prog)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert runner.stdout.readline().strip() == "sleeping"
        job_id = None
        for _ in range(50):
            listed = deepones("jobs", "list", "--json", home=deepones_home).stdout.splitlines()
            if listed:
                job_id = json.loads(listed[0])["id"]
                break
            time.sleep(0.1)
        assert job_id
        cancelled = deepones("jobs", "cancel", job_id, home=deepones_home)
        assert cancelled.returncode == 0, cancelled.stderr
        rest = runner.communicate(timeout=30)[0]
        assert json.loads(rest.strip().splitlines()[-1])["status"] == "cancelled"
        assert runner.returncode == 1
        again = deepones("jobs", "cancel", job_id, home=deepones_home)
        assert again.returncode == 1 and "not running" in again.stderr
    finally:
        runner.kill()


def test_metrics_command(deepones_home, tmp_path):
    log = tmp_path / "train.log"
    log.write_text("{'loss': 0.5, 'epoch': 1.0}\nEpoch 1/2\n10/10 [====] - 1s - loss: inf - acc: 1e-1\nnothing here\n")
    out = deepones("metrics", str(log), "--json", home=deepones_home)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows == [{"name": "loss", "value": 0.5, "step": 1.0}, {"name": "loss", "value": "inf", "step": 10.0},
                    {"name": "acc", "value": 0.1, "step": 10.0}]
    bad = deepones("metrics", str(tmp_path / "missing.log"), home=deepones_home)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_jobs_list_on_an_empty_store_says_so(deepones_home):
    out = deepones("jobs", "list", home=deepones_home)
    assert out.returncode == 0 and out.stdout.startswith("No jobs yet")
