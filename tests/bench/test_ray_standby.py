"""Standby Ray jobs on a real local cluster: a run hands over to a job started ahead, with the same
results as a directly submitted one; nothing is left behind; an interpreter without Ray falls back."""

from __future__ import annotations

import os
import stat
import sys
import time
from dataclasses import replace

import pytest

PROGRAM = ("import os\nprint('cwd', os.getcwd(), flush=True)\nprint('to stderr', file=__import__('sys').stderr)\n"
           "open('metric.log', 'w').write('0.75')\n")


def _states(client, prefix: str) -> dict[str, str]:
    return {j.submission_id: str(j.status.value) for j in client.list_jobs()
            if (j.submission_id or "").startswith(prefix)}


@pytest.mark.timeout(600)
def test_a_run_goes_to_a_standby_job_and_nothing_is_left_behind(ray_settings, deepones_home):
    from backend.bench import ray_standby_pool as pool
    from backend.bench.ray_cluster import _client
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.runner import read_status
    from backend.jobs.spec import JobSpec

    pool.stop_all()
    executor = RayExecutor(root=deepones_home, settings=ray_settings)
    client = _client(ray_settings.address)
    spec = JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": PROGRAM})
    first = executor.run(spec)
    assert first.status == "succeeded" and first.score == 0.75
    assert read_status(first.workdir)["ray_standby"] is False   # nothing was started ahead yet
    assert len(pool.waiting(ray_settings.address)) == 1          # ... but now one waits for the next run
    assert pool.wait_ready(client, 120)

    second = executor.run(spec)
    status = read_status(second.workdir)
    assert second.status == "succeeded" and second.score == 0.75, status
    assert status["ray_standby"] is True and status["ray_submission_id"].startswith("deepones-standby-")
    assert status["ray_status"] == "SUCCEEDED" and status["host"]
    out = (second.workdir / "stdout.log").read_text()
    assert "to stderr" in (second.workdir / "stderr.log").read_text()
    node_dir = out.split("cwd ", 1)[1].split()[0]
    assert os.path.basename(node_dir).startswith("deepones-run-")
    assert not os.path.exists(node_dir)                            # the node's copy of the run is gone
    ray_log = second.workdir / "ray.log"
    assert not ray_log.exists() or "@@deepones-standby" not in ray_log.read_text()
    key = status["ray_submission_id"].removeprefix("deepones-standby-")
    resp = client._do_request("GET", f"/api/packages/gcs/deepones_run_{key}.zip")
    assert resp.status_code == 404                                  # the package left the cluster's store

    waiting = pool.waiting(ray_settings.address)
    assert len(waiting) == 1 and waiting[0] != status["ray_submission_id"]
    assert pool.stop_all() == 1
    deadline = time.monotonic() + 60
    while any(s not in ("SUCCEEDED", "FAILED", "STOPPED") for s in _states(client, "deepones-standby-").values()):
        assert time.monotonic() < deadline, _states(client, "deepones-standby-")
        time.sleep(0.2)
    assert _states(client, "deepones-standby-")[waiting[0]] == "STOPPED"


@pytest.mark.timeout(600)
def test_an_interpreter_without_ray_gets_direct_jobs(ray_settings, deepones_home, tmp_path):
    from backend.bench import ray_standby_pool as pool
    from backend.bench.ray_cluster import _client
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.runner import read_status
    from backend.jobs.spec import JobSpec

    pool.stop_all()
    bare = tmp_path / "bare-python"   # a node interpreter with no site-packages, so no Ray
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(bare.stat().st_mode | stat.S_IEXEC)
    executor = RayExecutor(root=deepones_home, settings=replace(ray_settings, python=str(bare)))
    spec = JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": PROGRAM})
    assert executor.run(spec).status == "succeeded"
    (standby,) = pool.waiting(ray_settings.address)
    client = _client(ray_settings.address)
    deadline = time.monotonic() + 120
    while str(client.get_job_status(standby).value) not in ("FAILED", "SUCCEEDED", "STOPPED"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "unsupported" in client.get_job_logs(standby)
    second = executor.run(spec)   # the failed standby is noticed: this run and the next go direct
    assert second.status == "succeeded" and second.score == 0.75
    assert read_status(second.workdir)["ray_standby"] is False
    assert pool.waiting(ray_settings.address) == []


@pytest.mark.timeout(600)
def test_a_run_waiting_for_resources_frees_idle_standbys(ray_settings, deepones_home, tmp_path):
    """Two idle standbys hold both CPUs of the cluster; a run of another shape (here: another
    interpreter path) waits PENDING, then has them stopped and runs: no deadlock behind idle jobs."""
    from backend.bench import ray_standby_pool as pool
    from backend.bench.ray_cluster import _client
    from backend.bench.ray_executor import YIELD_AFTER_S, RayExecutor
    from backend.jobs.runner import read_status
    from backend.jobs.spec import JobSpec

    pool.stop_all()
    client = _client(ray_settings.address)
    held = RayExecutor(root=deepones_home, settings=ray_settings)._shape(0)
    for _ in range(2):   # as if two runs of this shape were in flight: one standby each
        pool.take(client, held, ray_settings.standby_idle_s)
    pool.replenish(client, held, ray_settings.standby_idle_s)
    assert pool.wait_ready(client, 180) and len(pool.waiting(ray_settings.address)) == 2
    pool.finished(held)
    pool.finished(held)

    other = tmp_path / "python"
    other.symlink_to(sys.executable)
    executor = RayExecutor(root=deepones_home, settings=replace(ray_settings, python=str(other), standby=False))
    t0 = time.monotonic()
    result = executor.run(JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": PROGRAM}))
    assert result.status == "succeeded" and result.score == 0.75, read_status(result.workdir)
    assert time.monotonic() - t0 > YIELD_AFTER_S   # it did wait, and was not left waiting
    assert pool.waiting(ray_settings.address) == []
    states = _states(client, "deepones-standby-")
    assert list(states.values()).count("STOPPED") >= 2


@pytest.mark.timeout(600)
def test_the_local_gpu_index_does_not_travel_to_the_node(ray_settings, deepones_home):
    """A run pinned to GPU 0 here gets the GPUs Ray assigns on the node (none on this CPU cluster),
    not ``CUDA_VISIBLE_DEVICES=0``, which would put every run of a many-GPU node on its first GPU."""
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.spec import JobSpec

    program = "import os\nprint('cvd=' + os.environ.get('CUDA_VISIBLE_DEVICES', 'unset'), flush=True)\n"
    executor = RayExecutor(root=deepones_home, settings=ray_settings)
    result = executor.run(JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": program}, gpu="0"))
    assert result.status == "succeeded"
    line = next(x for x in (result.workdir / "stdout.log").read_text().splitlines() if x.startswith("cvd="))
    assert line != "cvd=0", line
