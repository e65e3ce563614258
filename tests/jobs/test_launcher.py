"""The job launcher: supervisors are forked by one single-threaded launcher process, never by the app.

Real processes throughout: the launcher, the supervisors it forks, the jobs' programs.
"""

from __future__ import annotations

import os
import threading

import pytest

from backend.jobs import JobSpec, isolation, start_job
from backend.jobs.supervisor_launcher import SupervisorLauncher, launcher


def test_the_fork_check_refuses_a_threaded_process():
    """The check every fork of the job machinery passes through can fail: with a second thread
    running here, it refuses (and forks nothing)."""
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()
    try:
        assert isolation.threads_in_this_process() >= 2
        with pytest.raises(isolation.ThreadedForkRefused, match="threads"):
            isolation.fork_single_threaded()
    finally:
        stop.set()
        worker.join()


def test_no_fork_call_outside_the_checked_one():
    """Every ``os.fork`` of the product goes through :func:`isolation.fork_single_threaded`."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    offenders = []
    for pkg in ("backend", "deepones_gui", "plugins"):
        for folder, _, files in os.walk(os.path.join(root, pkg)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as fh:
                        for no, line in enumerate(fh, 1):
                            if "os.fork()" in line and "def fork_single_threaded" not in line:
                                offenders.append(f"{os.path.relpath(path, root)}:{no}")
    assert [o.split(":")[0] for o in offenders] == ["backend/jobs/isolation.py"], offenders


def test_jobs_are_forked_by_the_single_threaded_launcher(tmp_path):
    """This (threaded) test process starts the job; its supervisor is a child of the launcher,
    which runs exactly one thread, and the job is confined as before."""
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)   # the app is threaded: it must not matter
    busy.start()
    try:
        handle = start_job(JobSpec(argv=["-c", "print('hi')"]), root=tmp_path)
        result = handle.wait()
    finally:
        stop.set()
        busy.join()
    assert result.status == "succeeded", result
    assert (handle.workdir / "stdout.log").read_text() == "hi\n"
    launcher_pid = launcher().pid
    assert launcher_pid is not None and launcher_pid != os.getpid()
    assert len(os.listdir(f"/proc/{launcher_pid}/task")) == 1
    status = handle.status()
    supervisor_pid = status["supervisor_pid"]
    assert supervisor_pid != launcher_pid
    # The supervisor exited; the launcher forked it (its log says nothing went wrong either).
    assert "supervisor failed" not in (handle.workdir / "supervisor.log").read_text()
    assert status["confinement"]["summary"].startswith(("confined", "not confined (kernel"))


def test_a_launcher_that_died_is_started_again(tmp_path):
    own = SupervisorLauncher()
    try:
        first_job = _run(own, tmp_path, "first")
        first = own.pid
        assert first is not None
        os.kill(first, 9)
        own._proc.wait()
        second_job = _run(own, tmp_path, "second")
        assert own.pid not in (None, first)
    finally:
        own.close()
    assert own.pid is None
    assert first_job.status == second_job.status == "succeeded"


def _run(own: SupervisorLauncher, root, name: str):
    from backend.jobs.runner import JobHandle, prepare_job

    job_id, workdir, env, _ = prepare_job(JobSpec(argv=["-c", "pass"], name=name), root)
    pid, pidfd = own.launch(workdir, env)
    return JobHandle(job_id, workdir, pid=pid, pidfd=pidfd).wait()
