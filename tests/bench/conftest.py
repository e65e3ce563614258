"""Bench fixtures: the replayed demo sweep's models (rules in :mod:`backend.bench.demo`), a real local Ray cluster."""

from __future__ import annotations

import shutil
import sys

import pytest

from backend.bench.demo import write_demo_replays
from tests import ray_head


@pytest.fixture(autouse=True)
def demo_sleep_reaches_jobs(monkeypatch):
    """The demo programs' test knobs (BENCH_TEST_SLEEP*) pass the jobs' environment allow-list the way a
    user's own variables do: named in DEEPONES_JOB_ENV."""
    monkeypatch.setenv("DEEPONES_JOB_ENV", "BENCH_TEST_SLEEP,BENCH_TEST_SLEEP_FROM")


@pytest.fixture
def replay_models(tmp_path) -> dict:
    """Two designers (one states its names on a line, one only in prose) and one programmer."""
    return write_demo_replays(tmp_path / "replay")


@pytest.fixture(scope="session")
def ray_cluster():
    """A real local Ray head (2 CPUs) on free loopback ports, in a network namespace with only loopback.

    Outside such a namespace these tests skip and say how to run them (see :mod:`tests.ray_head`);
    afterwards exactly this head's processes are ended (never ``ray stop``).
    """
    pytest.importorskip("ray.job_submission")
    if not ray_head.only_loopback():
        pytest.skip("Ray listens beyond loopback: run the ray tier in a private network namespace "
                    "(bash scripts/test_tiers.sh ray)")
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is needed to check what Ray listens on")
    if ray_head.ray_command() is None:
        pytest.skip("the ray command is not installed")
    address, tmpdir = ray_head.start_head(num_cpus=2)
    try:
        beyond = ray_head.listeners_beyond_loopback()
        assert not beyond, f"listening beyond loopback: {beyond}"
        yield address
    finally:
        ray_head.stop_head(tmpdir)


@pytest.fixture
def ray_settings(ray_cluster, deepones_home):
    """The Ray executor pointed at the test cluster, running programs with this interpreter."""
    from backend.bench.ray_cluster import RaySettings

    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0, lost_after_s=10)
    settings.save(deepones_home)
    return settings
