"""The app's side of the job launcher (:mod:`backend.jobs.forkserver`): started once, at first use.

:func:`launch` hands a prepared job dir and the job's environment to the launcher process, which
forks the supervisor from its single thread, and returns the supervisor's pid and a pidfd for it.
The launcher is started with ``subprocess`` (its fork+exec runs no Python in the child, so it is
safe from this threaded process) and restarted when it has died. If it cannot be started at all,
the supervisor is started as its own fresh process instead, as before the launcher existed.
"""

from __future__ import annotations

import logging
import marshal
import os
import socket
import subprocess
import threading
from pathlib import Path

from backend.children import python_argv
from backend.jobs import environment

log = logging.getLogger(__name__)
FORKSERVER = Path(__file__).with_name("forkserver.py")
# Imported as a top-level module next to its siblings (cached bytecode, no package __init__), like the supervisor.
_BOOT = (f"import sys; sys.path.insert(0, {str(FORKSERVER.parent)!r}); import forkserver; "
         "sys.exit(forkserver.main(sys.argv))")


def site_dirs() -> list[str]:
    """Where the launcher (started with ``-S``) finds pynvml, which it imports once for every supervisor."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pynvml")
        return [str(Path(spec.origin).parent)] if spec and spec.origin else []
    except (ImportError, ValueError):
        return []


class LauncherUnavailable(OSError):
    """The launcher process could not be started or stopped answering."""


class LauncherGone(OSError):
    """The launcher stopped after it was handed a job: whether the job started is unknown."""


class SupervisorLauncher:
    """One launcher process and the socket to it; one request at a time (a lock: callers are threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Only allow-listed variables: the launcher's memory is copied into every supervisor.
            env, _ = environment.job_environment(environment.cleaned_base_environment(), {})
            self._proc = subprocess.Popen(
                python_argv("-I", "-S", "-c", _BOOT, os.pathsep.join(site_dirs()), str(theirs.fileno())),
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            ours.close()
            raise LauncherUnavailable(f"the job launcher could not start: {exc}") from exc
        finally:
            theirs.close()
        self._sock = ours
        log.info("job launcher started (pid %d)", self._proc.pid)

    def close(self) -> None:
        """Stop the launcher (it exits when its socket closes); supervisors it started go on."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def launch(self, workdir: Path, env: dict[str, str]) -> tuple[int, int | None]:
        """Fork the supervisor of the job in ``workdir``; returns (its pid, a pidfd or None)."""
        request = marshal.dumps({"jobdir": str(workdir), "env": dict(env)})
        with self._lock:
            for attempt in (1, 2):
                if self._sock is None:
                    self._start()
                assert self._sock is not None
                try:
                    self._sock.send(request)
                except OSError as exc:   # dead before it got the request: nothing started, start it again
                    self._close()
                    if attempt == 2:
                        raise LauncherUnavailable(f"the job launcher does not answer: {exc}") from exc
                    continue
                try:
                    data, fds, _, _ = socket.recv_fds(self._sock, 4096, 1)
                except OSError:
                    data, fds = b"", []
                if not data:
                    self._close()
                    raise LauncherGone("the job launcher stopped while starting the job")
                reply = marshal.loads(data)
                if "error" in reply:
                    raise LauncherUnavailable(reply["error"])
                return int(reply["pid"]), (fds[0] if fds else None)
        raise LauncherUnavailable("the job launcher does not answer")


_LAUNCHER = SupervisorLauncher()


def launcher() -> SupervisorLauncher:
    """This process's launcher (started at its first :meth:`SupervisorLauncher.launch`)."""
    return _LAUNCHER
