"""Fixtures for job tests: real processes, a fresh data dir, helpers to check nothing is left running."""

from __future__ import annotations

import textwrap
import time

import psutil
import pytest

from backend.jobs import JobLimits, JobSpec


def program(source: str, **kwargs) -> JobSpec:
    """A JobSpec running ``source`` as prog.py in the job dir, with a short kill grace for fast tests."""
    limits = kwargs.pop("limits", None) or JobLimits(kill_grace_s=0.5)
    return JobSpec(argv=["prog.py", *kwargs.pop("args", [])], files={"prog.py": textwrap.dedent(source)},
                   limits=limits, **kwargs)


def gone(pid: int, timeout: float = 3.0) -> bool:
    """True when ``pid`` no longer runs (a zombie counts as gone: it is dead, only unreaped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def none_left(job_id: str, timeout: float = 3.0) -> bool:
    """True when no process of the job runs any more (found by its DEEPONES_JOB_ID, as the app does:
    inside a confined job's PID namespace the pids a program writes down mean nothing out here)."""
    from backend.jobs.leftovers import job_processes

    deadline = time.monotonic() + timeout
    while job_processes(job_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def jobs_root(deepones_home):
    from backend.paths import ensure_data_dir

    return ensure_data_dir(deepones_home)


@pytest.fixture
def metric_children(monkeypatch) -> list[int]:
    """The pids of the metric-parsing child processes started during the test, in order."""
    from backend.jobs import watch

    started: list[int] = []
    real = watch._MetricChild.__init__

    def spy(self, workdir, follow):
        real(self, workdir, follow)
        started.append(self.proc.pid)

    monkeypatch.setattr(watch._MetricChild, "__init__", spy)
    return started
