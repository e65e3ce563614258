"""Bench fixtures: the replayed demo sweep's models (rules in :mod:`tests.bench.demo_sweep`), a real local Ray cluster."""

from __future__ import annotations

import sys

import pytest

from tests.bench.demo_sweep import write_demo_replays


@pytest.fixture(autouse=True)
def demo_sleep_reaches_jobs(monkeypatch):
    """The demo programs' test knobs (BENCH_TEST_SLEEP*) pass the jobs' environment allow-list the way a
    user's own variables do: named in DEEPONES_JOB_ENV."""
    monkeypatch.setenv("DEEPONES_JOB_ENV", "BENCH_TEST_SLEEP,BENCH_TEST_SLEEP_FROM")


@pytest.fixture
def replay_models(tmp_path) -> dict:
    """Two designers (one states its names on a line, one only in prose) and one programmer."""
    return write_demo_replays(tmp_path / "replay")


@pytest.fixture
def ray_settings(ray_cluster, deepones_home):
    """The Ray executor pointed at the test cluster, running programs with this interpreter."""
    from backend.bench.ray_cluster import RaySettings

    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0, lost_after_s=10)
    settings.save(deepones_home)
    return settings
