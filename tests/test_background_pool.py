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
