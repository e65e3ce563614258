"""The tier rules hold: a slow test cannot sit in the fast tier, and a Ray test is in the ray tier."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_pytest(folder: Path, *args: str, limit: str = "1") -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_FAST_TEST_LIMIT_S": limit, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(folder), *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        import pytest
        from tests.tiers import pytest_collection_modifyitems, pytest_runtest_makereport  # noqa: F401

        @pytest.fixture
        def ray_cluster():
            return "http://127.0.0.1:1"
    """))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: x\n    ray: x\n    train: x\n    bundle: x\n")
    (tmp_path / "test_cases.py").write_text(textwrap.dedent("""
        import time
        import pytest

        def test_quick():
            pass

        def test_too_slow_for_the_fast_tier():
            time.sleep(1.5)

        @pytest.mark.slow
        def test_slow_but_marked():
            time.sleep(1.5)

        def test_uses_ray(ray_cluster):
            pass
    """))
    return tmp_path


def test_a_fast_tier_test_over_the_limit_fails_with_its_time(tmp_path):
    out = _run_pytest(_project(tmp_path))
    assert out.returncode == 1, out.stdout
    assert "1 failed, 3 passed" in out.stdout, out.stdout
    assert "test_too_slow_for_the_fast_tier took 1." in out.stdout, out.stdout
    assert "the fast tier allows 1 s per test" in out.stdout
    assert "test_slow_but_marked" not in out.stdout.split("short test summary")[-1]


def test_a_test_asking_for_the_ray_cluster_is_in_the_ray_tier(tmp_path):
    out = _run_pytest(_project(tmp_path), "-m", "ray", limit="60")
    assert out.returncode == 0, out.stdout
    assert "1 passed, 3 deselected" in out.stdout, out.stdout
    out = _run_pytest(tmp_path, "-m", "not (slow or ray or train or bundle)", limit="60")
    assert "2 passed, 2 deselected" in out.stdout, out.stdout


def test_the_readme_command_runs_the_fast_tier_only():
    import tomllib

    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-m 'not (slow or ray or train or bundle)'" in opts["addopts"]
    from tests.tiers import OUTSIDE_FAST

    assert set(OUTSIDE_FAST) == {"slow", "ray", "train", "bundle"}
    registered = {m.split(":")[0] for m in opts["markers"]}
    assert {"model", "root", "gpu", *OUTSIDE_FAST} <= registered
