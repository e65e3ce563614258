"""Test tiers: which marker puts a test outside the fast tier, and the fast tier's time limit.

The README's test command (plain ``python -m pytest``) runs the fast tier: ``addopts`` in
pyproject.toml deselects the markers in :data:`OUTSIDE_FAST`. ``scripts/test_tiers.sh`` runs the
others. A test that starts a Ray cluster is in the ``ray`` tier by construction (it asks for the
``ray_cluster`` fixture), so no test can start Ray in the fast tier by forgetting a marker.

A fast-tier test that takes longer than the limit (setup + call, 60 s unless
``DEEPONES_FAST_TEST_LIMIT_S`` says otherwise) fails with its time: the fast tier stays fast
because a slow test cannot land in it unnoticed.
"""

from __future__ import annotations

import os

import pytest

#: Markers whose tests the README's command leaves out (run by scripts/test_tiers.sh).
OUTSIDE_FAST = ("slow", "ray", "train", "bundle")
#: Fixtures that mark a test whatever its own markers say: a test that starts Ray is in the ray
#: tier, one that mounts a tmpfs needs root, one that serves SmolLM2 runs the model.
MARKER_OF_FIXTURE = {"ray_cluster": "ray", "small_disk": "root", "llama_server": "model", "smollm2": "model",
                     "fresh_workers": "model"}

_SETUP_S = pytest.StashKey[float]()


def fast_tier_limit_s() -> float:
    return float(os.environ.get("DEEPONES_FAST_TEST_LIMIT_S", "60"))


def in_fast_tier(item: pytest.Item) -> bool:
    return not any(item.get_closest_marker(name) for name in OUTSIDE_FAST)


@pytest.hookimpl(tryfirst=True)   # before pytest's own -m filtering sees the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()) and not item.get_closest_marker(marker):
                item.add_marker(marker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "setup":
        item.stash[_SETUP_S] = report.duration
    elif report.when == "call" and report.passed and in_fast_tier(item):
        total = item.stash.get(_SETUP_S, 0.0) + report.duration
        limit = fast_tier_limit_s()
        if total > limit:
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} took {total:.1f} s (setup {item.stash.get(_SETUP_S, 0.0):.1f} s, "
                               f"call {report.duration:.1f} s); the fast tier allows {limit:.0f} s per test: "
                               "make it shorter, or mark it slow/train/ray and keep a short variant here")
    return report
