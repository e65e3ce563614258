"""A run on a real Ray cluster: its output streams back while it runs, and Cancel (stop_job) ends it,
program included, with a 'cancelled' status brought back into the local job folder."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from backend.children import pid_alive

PROGRAM = "import os, time\nprint('started', os.getpid(), flush=True)\ntime.sleep(300)\n"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("via_standby", [False, True], ids=["direct", "standby"])
def test_ray_run_streams_live_and_cancel_stops_it(ray_settings, deepones_home, via_standby):
    from backend.bench import ray_standby_pool as pool
    from backend.bench.ray_cluster import _client
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.spec import JobSpec

    executor = RayExecutor(root=deepones_home, settings=ray_settings)
    pool.stop_all()
    if via_standby:   # a first run leaves a standby job started for the next one
        assert executor.run(JobSpec(argv=["-c", "pass"], interpreter=sys.executable)).status == "succeeded"
        assert pool.wait_ready(_client(ray_settings.address), 120)
    handle = executor.submit(JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": PROGRAM}))
    assert handle.status()["ray_standby"] is via_standby
    output: list[str] = []
    cancel = threading.Event()
    box: dict = {}
    waiter = threading.Thread(target=lambda: box.setdefault("result", handle.wait(
        on_output=lambda stream, text: output.append(text), cancel=cancel)), daemon=True)
    waiter.start()
    deadline = time.monotonic() + 240
    while not re.search(r"started (\d+)", "".join(output)):   # live: the program is still sleeping
        assert time.monotonic() < deadline and waiter.is_alive(), (output, handle.status())
        time.sleep(0.1)
    pid = int(re.search(r"started (\d+)", "".join(output)).group(1))
    assert pid_alive(pid) and handle.status()["status"] == "running"
    assert "started" in (handle.workdir / "stdout.log").read_text()   # mirrored into the local job folder
    t0 = time.monotonic()
    cancel.set()
    waiter.join(60)
    assert not waiter.is_alive() and time.monotonic() - t0 < 60
    result = box["result"]
    assert result.status == "cancelled", handle.status()
    status = handle.status()
    assert status["ray_status"] == "STOPPED" and status["executor"] == "ray"
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)   # the program on the node is gone, not only the Ray job
    pool.stop_all()
