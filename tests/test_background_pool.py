"""Long background work (a sweep, a DeepQA evaluation, an import, each for minutes or hours) never
keeps a page's short load from running, whatever the CPU count: the shared pool has room."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.mark.timeout(120)
def test_short_loads_run_while_long_tasks_hold_threads(qtbot):
    from deepones_gui.concurrent import run_in_background, wait_for_background_tasks

    release = threading.Event()
    started: list[int] = []

    def long_task(i: int, *, progress, partial, cancel) -> int:
        started.append(i)
        release.wait(60)
        return i

    try:
        for i in range(6):   # more than the CPUs of any small machine
            run_in_background(long_task, i)
        qtbot.waitUntil(lambda: len(started) == 6, timeout=10_000)
        got: list[str] = []
        t0 = time.monotonic()
        run_in_background(lambda *, progress, partial, cancel: "loaded", on_result=got.append)
        qtbot.waitUntil(lambda: got == ["loaded"], timeout=5_000)
        assert time.monotonic() - t0 < 5
    finally:
        release.set()
        assert wait_for_background_tasks(20_000)


def test_nothing_reaches_a_deleted_owner_and_its_task_is_cancelled(qtbot):
    """A page closed mid-work: its task's later reports are dropped, not sent to deleted widgets."""
    import threading

    import shiboken6
    from PySide6.QtWidgets import QLabel

    from deepones_gui.concurrent import run_in_background, wait_for_background_tasks

    label = QLabel()
    go = threading.Event()
    seen: list[str] = []

    def work(progress=None, partial=None, cancel=None):
        go.wait(10)
        progress(0.5, "half")
        return "done" if not cancel else "cancelled"

    task = run_in_background(work, owner=label, on_progress=lambda f, t: label.setText(t),
                             on_result=lambda v: seen.append(v) or label.setText(v))
    shiboken6.delete(label)   # the page goes away while the task runs
    go.set()
    wait_for_background_tasks()
    qtbot.wait(50)            # let queued signals arrive
    assert seen == [] and task.token.cancelled
