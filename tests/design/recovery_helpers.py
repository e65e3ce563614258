"""Shared by the recovery tests: a program that waits on a flag file, a killed CLI run, a model server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.design.conftest import replay

WAITING_PROGRAM = '''\
import pathlib
import time

flag = pathlib.Path({flag!r})
print("program started", flush=True)
while flag.exists():   # the test holds the program here, then kills the app around it
    time.sleep(0.05)
pathlib.Path("metric.log").write_text("0.75\\n")
print("done", flush=True)
'''


def waiting_programmer(tmp_path: Path) -> tuple[str, Path]:
    """(a replay: programmer whose C_0 waits while a flag file exists, the flag)."""
    flag = tmp_path / "hold"
    flag.write_text("1")
    answer = "Here is the program.\n\n```python\n" + WAITING_PROGRAM.format(flag=str(flag)) + "```\n"
    path = tmp_path / "programmer_waiting.jsonl"
    path.write_text(json.dumps({"content": answer}) + "\n")
    return f"replay:{path}", flag


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deepones_gui", "design", *args]


def kill_cli_during_implement(home: Path, programmer: str, sessions, timeout: float = 180) -> tuple[int, int, int]:
    """Start `deepones design` until Implement; SIGKILL it while the program runs.

    Returns (session id, the implement step's id, the killed process's pid).
    """
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    proc = subprocess.Popen(cli("--task", "demo-digits", "--designer", replay("designer.jsonl"),
                                "--programmer", programmer, "--until", "implement", "--json"),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            rows = sessions.list_sessions()
            steps = sessions.steps(rows[0]["id"]) if rows else []
            implement = next((s for s in steps if s.stage == "implement" and s.job_id), None)
            if implement is not None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return rows[0]["id"], implement.id, proc.pid
            assert proc.poll() is None, "the CLI ended before its program started"
            time.sleep(0.1)
        raise AssertionError("the implement program never started")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


class ModelServer:
    """``python -m tests.design.model_server`` as a child process; kill() ends it like a crash."""

    def __init__(self, tmp_path: Path, answers: Path, delay: float = 0.05, port: int = 0) -> None:
        port_file = tmp_path / f"port-{time.monotonic_ns()}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.design.model_server", str(port_file), str(answers),
                                      str(delay), str(port)], cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, "the model server did not start"
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.spec = f"http://127.0.0.1:{self.port}/v1#recorded"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
