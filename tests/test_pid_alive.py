"""backend.children.pid_alive: the one "is this process still there" rule (recovery, design-session
owners, sweep owners and the cancel tests all use it). A killed child not yet reaped is a zombie:
it has exited, so it must count as gone; before this rule was shared, two of the four copies said
such a process was alive."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from backend.children import pid_alive


def test_running_zombie_and_reaped_child():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(child.pid) and time.monotonic() < deadline:   # exits, stays a zombie (not reaped)
            time.sleep(0.02)
        assert not pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)


def test_this_process_is_alive():
    assert pid_alive(os.getpid())
