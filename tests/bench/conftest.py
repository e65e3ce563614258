"""Bench fixtures: the replayed demo sweep's models (rules in :mod:`backend.bench.demo`), a real local Ray cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.bench.demo import write_demo_replays


@pytest.fixture
def replay_models(tmp_path) -> dict:
    """Two designers (one states its names on a line, one only in prose) and one programmer."""
    return write_demo_replays(tmp_path / "replay")


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
        for _ in range(3):   # Ray gives the raylet 30 s to register: not always enough on a loaded machine
            if started.returncode == 0:
                break
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
    from backend.bench.ray_cluster import RaySettings

    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0, lost_after_s=10)
    settings.save(deepones_home)
    return settings
