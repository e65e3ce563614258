"""Fixtures for the model worker: real worker processes of the real embedded SmolLM2, and process checks."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from tests.chat.conftest import smollm2  # noqa: F401 - the embedded GGUF fixture, shared

GREEDY_ARGS = {"temperature": 0.0, "context_size": 1024}
QUESTION = [{"role": "user", "content": "What is a convolutional neural network?"}]
CLI = [sys.executable, "-c", "import sys; from deepones_gui.launcher import main; sys.argv[0] = 'deepones'; main()"]


@pytest.fixture
def fresh_workers():
    """No worker from an earlier test (they may hold another fault setting); none left after."""
    from backend.llm.worker.client import unload

    unload()
    yield
    unload()


def worker_children() -> list[psutil.Process]:
    """Our model worker processes (children running ``-m backend.llm.worker``), zombies included."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "backend.llm.worker" in " ".join(child.cmdline()) or child.status() == psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
        except psutil.ZombieProcess:
            found.append(child)
    return found


def zombies() -> list[psutil.Process]:
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return False  # exited but not reaped: a zombie, which is a failure too
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def run_cli(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)
