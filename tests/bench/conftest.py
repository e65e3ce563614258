"""Bench fixtures: replayed designers and programmer for a deterministic sweep, a real local Ray cluster.

The programmer's programs are real: they run as sandboxed jobs. Their final runs take their
score from a counter file in the data dir (``$DEEPONES_DATA/counter.txt``), so with one run at a
time the n-th run of a sweep (in row order) scores ``SCORES[n % 3]`` and fails when ``n % 4 == 3``,
and its first debug step also fails (ModuleNotFoundError) when n is odd. The tests compute the
expected tables from these rules by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCORES = (0.9, 0.7, 0.8)

IMPLEMENT = 'raise ValueError("the input width is wrong")\n'
DEBUG_1 = '''\
import os, pathlib
n = int((pathlib.Path(os.environ["DEEPONES_DATA"]) / "counter.txt").read_text() or 0) \\
    if (pathlib.Path(os.environ["DEEPONES_DATA"]) / "counter.txt").exists() else 0
if n % 2 == 1:
    import deepones_no_such_module  # noqa: F401
open("metric.log", "w").write("0.5")
'''
WORKING = '''\
import os, pathlib, time
if os.environ.get("DEEPONES_STAGE") == "validate":
    open("metric.log", "w").write("0.5")
    raise SystemExit(0)
counter = pathlib.Path(os.environ["DEEPONES_DATA"]) / "counter.txt"
n = int(counter.read_text() or 0) if counter.exists() else 0
counter.write_text(str(n + 1))
time.sleep(float(os.environ.get("BENCH_TEST_SLEEP", "0")))
print(f"final run {n}", flush=True)
if n % 4 == 3:
    raise RuntimeError("diverged")
open("metric.log", "w").write(str(SCORES[n % 3]))
'''.replace("SCORES", repr((0.9, 0.7, 0.8)))


def _fenced(code: str) -> str:
    return f"Here is the program:\n\n```python\n{code}```\n"


def expected_run(n: int) -> dict:
    """What run number n (0-based, in row order) does under the rules above."""
    errors = ["ValueError"] + (["ModuleNotFoundError"] if n % 2 == 1 else [])
    failed = n % 4 == 3
    return {"score": None if failed else SCORES[n % 3], "success": 0 if failed else 1, "error_types": errors}


@pytest.fixture
def replay_models(tmp_path) -> dict:
    """Two designers (one states its names on a line, one only in prose) and one programmer."""
    folder = tmp_path / "replay"
    folder.mkdir()
    d1 = [
        "Backbone: MLP\nOne possible model is a multilayer perceptron: two dense layers suit 8x8 digits.",
        "Improvement: dropout\nOne possible improvement is dropout after the hidden layer.\n\n```python\nx = 1\n```",
        "learning rate: 0.01\nbatch size: 64\nepochs: 5",
    ]
    d2 = [
        "A small convolutional neural network (CNN) will do; ResNet blocks are overkill for 8x8 images.",
        "Train it with mixed precision and a cosine schedule.\n\n```python\ny = 2\n```",
        "learning rate: 0.001\nepochs: 3",
    ]
    prog = [_fenced(IMPLEMENT), _fenced(DEBUG_1), _fenced(WORKING), _fenced(WORKING)]
    out = {}
    for name, lines in (("designer_a", d1), ("designer_b", d2), ("programmer", prog)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"content": c}) + "\n" for c in lines), "utf-8")
        out[name] = f"replay:{path}"
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A real local Ray head (2 CPUs) on free loopback ports; stopped afterwards, nothing left behind."""
    pytest.importorskip("ray.job_submission")
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if ray_bin is None:
        pytest.skip("the ray command is not installed")
    port, dash = _free_port(), _free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    # A short temp dir: Ray's socket paths must stay under 107 characters.
    tmpdir = Path(f"/tmp/rt{port}")
    cmd = [ray_bin, "start", "--head", "--num-cpus", "2", "--num-gpus", "0", "--port", str(port),
           "--dashboard-port", str(dash), "--dashboard-host", "127.0.0.1", "--include-dashboard", "true",
           "--node-ip-address", "127.0.0.1", "--temp-dir", str(tmpdir), "--disable-usage-stats"]
    # On a loaded machine the head can time out while starting: give it longer, and one more try.
    env["RAY_raylet_start_wait_time_s"] = "180"
    started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    address = f"http://127.0.0.1:{dash}"
    try:
        if started.returncode != 0:
            subprocess.run([ray_bin, "stop"], env=env, capture_output=True, timeout=120)
            started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
        assert started.returncode == 0, started.stdout + started.stderr
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + 60
        while True:
            try:
                JobSubmissionClient(address).list_jobs()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        (temp / "address").write_text(address)
        yield address
    finally:
        subprocess.run([ray_bin, "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def ray_settings(ray_cluster, deepones_home):
    """The Ray executor pointed at the test cluster, running programs with this interpreter."""
    from backend.bench.ray_executor import RaySettings

    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0, lost_after_s=10)
    settings.save(deepones_home)
    return settings
