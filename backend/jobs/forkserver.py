"""The job launcher process: one per app, single-threaded, it forks every job's supervisor.

The app may run many threads (Qt, the model worker's readers, the thread pool), so it never forks
itself: a forked child of a threaded process that runs Python before its exec can hang on a lock
another thread held. Starting each supervisor as a fresh interpreter avoids that but costs a Python
start-up per job. So the app starts this process ONCE, at its first job
(:mod:`backend.jobs.supervisor_launcher`, through ``subprocess``), with ``python -I -S`` and the
cleaned environment. It imports the supervisor's modules, then serves requests on a socketpair:
each request (a job dir and the job's environment) is forked here, from this one thread
(:func:`isolation.fork_single_threaded` checks it before every fork), and the child becomes the
job's supervisor — a new session, the job's environment, its log as stdout/stderr — with nothing
left to import. The reply carries the supervisor's pid and a pidfd for it (``SCM_RIGHTS``), so the
app can wait for it without being its parent and without a pid-reuse race.

The launcher exits when the app's end of the socket closes (the app exited, or gave it up); the
supervisors it started go on, as they did when each was its own subprocess. Standard library only,
imported as a sibling of the supervisor like the supervisor's own modules.
"""

from __future__ import annotations

import marshal
import os
import select
import socket
import sys

if __package__:
    from backend.jobs import isolation, supervisor
else:
    if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import isolation
    import supervisor

MAX_REQUEST = 1 << 20


def _reap() -> None:
    """Collect supervisors that ended (the app watches them through their pidfds, not through us)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_supervisor(sock: socket.socket, jobdir: str, env: dict) -> None:
    """In the forked child: detach like ``subprocess(start_new_session=True)`` did, then run the job."""
    code = 1
    try:
        sock.close()
        os.setsid()
        os.chdir(jobdir)
        log = os.open(os.path.join(jobdir, "supervisor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 65536)
        os.environ.clear()
        os.environ.update(env)   # the job's allow-listed environment, as the program will see it
        code = supervisor.main([jobdir])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - say why in the job's log, never return into the launcher
        try:
            os.write(2, f"deepones launcher: supervisor failed: {exc!r}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def serve(sock: socket.socket) -> int:
    """Answer launch requests until the app closes its end of ``sock``."""
    isolation.libc()   # dlopen here, once: never in a forked child
    while True:
        ready = select.select([sock], [], [], 1.0)[0]
        _reap()
        if not ready:
            continue
        try:
            data = sock.recv(MAX_REQUEST)
        except OSError:
            return 0
        if not data:
            return 0            # the app is gone
        request = marshal.loads(data)
        try:
            pid = isolation.fork_single_threaded()
        except (OSError, isolation.ThreadedForkRefused) as exc:
            sock.send(marshal.dumps({"error": str(exc)}))
            continue
        if pid == 0:
            _become_supervisor(sock, request["jobdir"], request["env"])
        del request
        fds = []
        try:
            fds.append(os.pidfd_open(pid))
        except (AttributeError, OSError):
            pass   # no pidfd (old kernel): the app falls back to the job's lock file
        try:
            socket.send_fds(sock, [marshal.dumps({"pid": pid})], fds)
        except OSError:
            return 0
        finally:
            for fd in fds:
                os.close(fd)


def preload(site_dirs: list[str]) -> None:
    """Import once here what every supervisor would import for itself: the NVML bindings (only the
    module: NVML itself is initialised in each supervisor, after the fork)."""
    for path in site_dirs:
        if path and path not in sys.path:
            sys.path.append(path)   # appended: never shadowing the standard library
    try:
        import pynvml  # noqa: F401
    except Exception:  # noqa: BLE001 - no bindings, or broken ones: each supervisor then finds no GPU
        pass


def main(argv: list[str]) -> int:
    """``forkserver.py SITE_DIRS FD``: SITE_DIRS joined with os.pathsep, FD the launcher's socket end."""
    supervisor.confine.set_non_dumpable()   # it holds jobs' environments for a moment: unreadable to others
    preload(argv[-2].split(os.pathsep))
    sock = socket.socket(fileno=int(argv[-1]))
    return serve(sock)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
