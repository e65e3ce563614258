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


def _only_loopback() -> bool:
    """Whether this process is in a network namespace whose only interface is the loopback."""
    # if_nameindex asks the kernel about this process's namespace (/sys/class/net shows the mounter's).
    return [name for _index, name in socket.if_nameindex()] == ["lo"]


def _listeners_beyond_loopback() -> list[str]:
    """Listening TCP sockets (``ss -ltn``) on an address other than loopback or a wildcard."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, timeout=30).stdout
    local = [line.split()[3] for line in out.splitlines() if len(line.split()) >= 4]
    # A wildcard reaches only lo in this namespace; [::ffff:127.x] is IPv4 loopback seen by a v6 socket.
    allowed = ("127.", "[::1]", "[::ffff:127.", "0.0.0.0:", "*:", "[::]:")
    return [addr for addr in local if not addr.startswith(allowed)]


def _stop_ray_head(tmpdir: Path) -> None:
    """End exactly the processes of the head this fixture started (they all name its temp dir).

    ``ray stop`` would end every Ray cluster of this user on the machine, a developer's own too.
    """
    import psutil

    mine = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(tmpdir) in part for part in proc.info["cmdline"] or ()):
                mine.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for proc in mine:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(mine, timeout=15)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A real local Ray head (2 CPUs) on free loopback ports, in a network namespace with only loopback.

    Ray 2.60 listens on all interfaces and announces the host's address whatever
    ``--node-ip-address`` says, so the ``ray`` tier runs inside a private network namespace
    (``scripts/test_tiers.sh``, ``unshare --net``); outside one these tests skip and say so.
    Afterwards exactly this head's processes are ended (never ``ray stop``).
    """
    pytest.importorskip("ray.job_submission")
    if not _only_loopback():
        pytest.skip("Ray listens beyond loopback: run the ray tier in a private network namespace "
                    "(bash scripts/test_tiers.sh ray)")
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is needed to check what Ray listens on")
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
            _stop_ray_head(tmpdir)
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
        beyond = _listeners_beyond_loopback()
        assert not beyond, f"listening beyond loopback: {beyond}"
        (temp / "address").write_text(address)
        yield address
    finally:
        _stop_ray_head(tmpdir)
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def ray_settings(ray_cluster, deepones_home):
    """The Ray executor pointed at the test cluster, running programs with this interpreter."""
    from backend.bench.ray_cluster import RaySettings

    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0, lost_after_s=10)
    settings.save(deepones_home)
    return settings
