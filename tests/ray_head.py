"""A real local Ray head for tests and benchmarks: started on loopback ports, stopped exactly.

Ray 2.60 listens on all interfaces and announces the host's address whatever
``--node-ip-address`` says, so callers run inside a private network namespace with only loopback
(``scripts/test_tiers.sh ray``, ``scripts/run_benchmarks.sh``); :func:`only_loopback` tells
whether this process is in one and :func:`listeners_beyond_loopback` checks what listens.
:func:`stop_head` ends exactly the processes of the head it is given (they all name its temp dir):
``ray stop`` would end every Ray cluster of this user on the machine, a developer's own too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def only_loopback() -> bool:
    """Whether this process is in a network namespace whose only interface is the loopback."""
    # if_nameindex asks the kernel about this process's namespace (/sys/class/net shows the mounter's).
    return [name for _index, name in socket.if_nameindex()] == ["lo"]


def listeners_beyond_loopback() -> list[str]:
    """Listening TCP sockets (``ss -ltn``) on an address other than loopback or a wildcard."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, timeout=30).stdout
    local = [line.split()[3] for line in out.splitlines() if len(line.split()) >= 4]
    # A wildcard reaches only lo in this namespace; [::ffff:127.x] is IPv4 loopback seen by a v6 socket.
    allowed = ("127.", "[::1]", "[::ffff:127.", "0.0.0.0:", "*:", "[::]:")
    return [addr for addr in local if not addr.startswith(allowed)]


def ray_command() -> str | None:
    return shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")


def start_head(num_cpus: int = 2, tries: int = 3) -> tuple[str, Path]:
    """Start a head on free loopback ports; returns (dashboard address, temp dir). Raises on failure."""
    ray_bin = ray_command()
    if ray_bin is None:
        raise RuntimeError("the ray command is not installed")
    port, dash = free_port(), free_port()
    # A short temp dir: Ray's socket paths must stay under 107 characters.
    tmpdir = Path(f"/tmp/rt{port}")
    # On a loaded machine the raylet can take long to register: give it longer, and more tries.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_raylet_start_wait_time_s": "180"}
    cmd = [ray_bin, "start", "--head", "--num-cpus", str(num_cpus), "--num-gpus", "0", "--port", str(port),
           "--dashboard-port", str(dash), "--dashboard-host", "127.0.0.1", "--include-dashboard", "true",
           "--node-ip-address", "127.0.0.1", "--temp-dir", str(tmpdir), "--disable-usage-stats"]
    for attempt in range(tries):
        started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
        if started.returncode == 0:
            break
        stop_head(tmpdir)
        if attempt == tries - 1:
            raise RuntimeError(f"ray start failed: {(started.stdout + started.stderr).strip()[-1500:]}")
    address = f"http://127.0.0.1:{dash}"
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + 120
    while True:
        try:
            JobSubmissionClient(address).list_jobs()
            return address, tmpdir
        except Exception:
            if time.monotonic() > deadline:
                stop_head(tmpdir)
                raise
            time.sleep(0.5)


def stop_head(tmpdir: Path) -> None:
    """End exactly the processes of the head started with ``tmpdir`` (SIGTERM, then SIGKILL)."""
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
    shutil.rmtree(tmpdir, ignore_errors=True)
