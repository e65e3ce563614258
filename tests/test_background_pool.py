"""Long background work (a sweep, a design run to the end, an import, each for minutes or hours)
never keeps a page's short load from running: long runs have threads of their own, owned by their
controllers, and the shared pool stays small for short loads."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.mark.timeout(120)
def test_forty_long_runs_at_once_do_not_delay_a_page_load(qtbot):
    from deepones_gui.concurrent import (
        POOL_THREADS,
        run_in_background,
        shared_pool,
        wait_for_background_tasks,
    )

    release = threading.Event()
    started: list[int] = []

    def long_run(i: int, *, progress, partial, cancel) -> int:
        started.append(i)
        release.wait(60)
        return i

    runs = []
    try:
        for i in range(40):   # more than any pool would hold
            runs.append(run_in_background(long_run, i, own_thread=True))
        qtbot.waitUntil(lambda: len(started) == 40, timeout=20_000)
        assert shared_pool().maxThreadCount() == POOL_THREADS <= 8   # back to a small pool
        assert shared_pool().activeThreadCount() == 0                 # no long run holds a pool thread
        got: list[str] = []
        t0 = time.monotonic()
        run_in_background(lambda *, progress, partial, cancel: "loaded", on_result=got.append)
        qtbot.waitUntil(lambda: got == ["loaded"], timeout=5_000)
        assert time.monotonic() - t0 < 1.0
        # The controller owns each run: cancelling one reaches its token.
        runs[0].cancel()
        assert runs[0].token.cancelled and not runs[1].token.cancelled
    finally:
        release.set()
        assert wait_for_background_tasks(20_000)
    assert all(not task.thread.is_alive() for task in runs)


def test_latest_only_drops_what_an_older_load_still_reports(qtbot):
    """Two loads in a row, the first finishing last: only the second one's result arrives, and the
    first was cancelled (what per-page generation counters did by hand)."""
    from deepones_gui.concurrent import LatestOnly, wait_for_background_tasks

    slow_may_finish = threading.Event()
    seen: list[str] = []
    tokens = []

    def load(name: str, *, progress, partial, cancel) -> str:
        tokens.append(cancel)
        if name == "old":
            slow_may_finish.wait(10)
        return name

    loads = LatestOnly()
    first = loads.run(load, "old", on_result=seen.append)
    qtbot.waitUntil(lambda: len(tokens) == 1, timeout=5_000)
    loads.run(load, "new", on_result=seen.append)
    qtbot.waitUntil(lambda: seen == ["new"], timeout=5_000)
    slow_may_finish.set()
    assert wait_for_background_tasks(10_000)
    qtbot.wait(50)   # let any queued signal arrive: none may reach the callback
    assert seen == ["new"]
    assert first.dropped and first.token.cancelled


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


def test_a_callback_that_is_a_method_of_a_deleted_widget_is_not_called(qtbot):
    """Without ``owner=``: a callback bound to a QObject is guarded by that object, so a result that
    lands after the page was deleted never reaches it ('Internal C++ object already deleted')."""
    import threading

    import shiboken6
    from PySide6.QtWidgets import QLabel

    from deepones_gui.concurrent import run_in_background, wait_for_background_tasks

    class Page(QLabel):
        def __init__(self) -> None:
            super().__init__()
            self.results: list[str] = []

        def loaded(self, value: str) -> None:
            self.setText(value)          # raises RuntimeError on a deleted widget
            self.results.append(value)

    gone, alive, go = Page(), Page(), threading.Event()
    gone_results = gone.results

    def work(progress=None, partial=None, cancel=None):
        go.wait(10)
        return "rows"

    run_in_background(work, on_result=gone.loaded)
    run_in_background(work, on_result=alive.loaded)
    shiboken6.delete(gone)
    go.set()
    wait_for_background_tasks()
    qtbot.waitUntil(lambda: alive.results == ["rows"], timeout=5000)
    assert gone_results == []
