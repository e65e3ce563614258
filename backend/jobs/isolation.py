"""Process isolation for the supervisor, standard library only: subreaper, pids cgroup, the job's
process tree (found through ``/proc``), signals to it.
"""

from __future__ import annotations

import os
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
PR_SET_CHILD_SUBREAPER = 36
TASKS_PER_PROCESS = 32   # pids.max (tasks, threads included) per allowed process


_LIBC = None


def libc():
    """libc through ctypes, loaded once (and before any fork: dlopen in a forked child can deadlock)."""
    global _LIBC
    if _LIBC is None:
        import ctypes

        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


class ThreadedForkRefused(RuntimeError):
    """A fork was asked for in a process that runs more than one thread."""


def threads_in_this_process() -> int:
    """How many threads this process runs, as the kernel counts them (``/proc/self/task``), and as
    :mod:`threading` does when it is loaded: the larger of the two."""
    try:
        count = len(os.listdir("/proc/self/task"))
    except OSError:
        count = 1
    threading = sys.modules.get("threading")
    if threading is not None:
        count = max(count, threading.active_count())
    return count


def fork_single_threaded() -> int:
    """A fork (``os.fork``), refused (:class:`ThreadedForkRefused`) in a process with more than one thread.

    Every fork of the job machinery goes through here (the launcher forking a supervisor, the
    supervisor forking the job's init, the init forking the program), and each runs Python in the
    child before its exec: in a threaded process that child could inherit a lock another thread
    held at the fork (malloc's, a logging handler's, the import lock) and hang on it for ever.
    """
    count = threads_in_this_process()
    if count != 1:
        raise ThreadedForkRefused(f"refusing to fork: this process runs {count} threads, and a forked "
                                  "child of a threaded process can deadlock on a lock another thread held")
    return os.fork()


def set_subreaper() -> bool:
    try:
        return libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001 - not Linux: fall back to process-group kills
        return False


def make_cgroup(job_id: str, max_processes: int | None) -> str | None:
    """A pids cgroup for the program (root only); None when unavailable.

    ``pids.max`` counts tasks, threads included, and a training process easily runs dozens of
    threads (OpenMP, data loaders), so the cgroup caps tasks at 32x the process limit: a
    kernel-enforced stop for fork bombs. The process limit itself is enforced by the tree watch.
    """
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        if base == "/sys/fs/cgroup" and not os.path.exists(base + "/cgroup.controllers"):
            continue
        try:
            parent = os.path.join(base, "deepones")
            os.makedirs(parent, exist_ok=True)
            if base == "/sys/fs/cgroup":
                with open(parent + "/cgroup.subtree_control", "w") as fh:
                    fh.write("+pids")
            path = os.path.join(parent, job_id)
            os.makedirs(path, exist_ok=True)
            if max_processes:
                with open(path + "/pids.max", "w") as fh:
                    fh.write(str(max(4096, int(max_processes) * TASKS_PER_PROCESS)))
            return path
        except OSError:
            continue
    return None


def join_cgroup(cgroup: str, pid: int) -> None:
    # Moving a process between cgroups takes ~20 ms (an RCU sync): it happens here, beside the
    # starting program, not before its exec. A child forked in that first instant stays outside the
    # cgroup but not outside this subreaper's tree, so it is still found and killed.
    try:
        with open(cgroup + "/cgroup.procs", "w") as fh:
            fh.write(str(pid))
    except OSError:
        pass


def _proc_children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'.
        ppid = int(stat[stat.rfind(b")") + 2:].split(None, 2)[1])
        children.setdefault(ppid, []).append(int(name))
    return children


def _children(pid: int) -> list[int]:
    """The live children of ``pid`` (of each of its threads), from the kernel's own list."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except OSError:
            continue
    return out


# /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN (every mainstream kernel); else scan /proc.
_HAS_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


class Tree:
    """Every process of the job: the cgroup's members, else all descendants of this subreaper."""

    def __init__(self, cgroup: str | None) -> None:
        self.cgroup = cgroup
        self.me = os.getpid()

    def pids(self) -> list[int]:
        found: set[int] = set()
        if self.cgroup:
            try:
                with open(self.cgroup + "/cgroup.procs") as fh:
                    found.update(int(x) for x in fh.read().split())
            except OSError:
                pass
        # Walking /proc/PID/task/*/children from here reads a file per descendant; a scan of all of
        # /proc reads one per process on the machine (~20 ms on a busy one, several times per job).
        children = _children if _HAS_CHILDREN_FILES else _proc_children_map().get
        # Walk from every cgroup member too: a member's children forked before it joined (the
        # namespace init starts the program at once) are outside the cgroup but inside the tree.
        todo = list(children(self.me) or ()) + list(found)
        walked: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid in walked:
                continue
            walked.add(pid)
            found.add(pid)
            todo.extend(children(pid) or ())
        found.discard(self.me)
        return sorted(found)

    @staticmethod
    def rss_bytes(pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/statm", "rb") as fh:
                    total += int(fh.read().split()[1]) * PAGE
            except (OSError, IndexError, ValueError):
                continue
        return total


def send_signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def alive(pids: list[int]) -> list[int]:
    """Pids that are not zombies (a zombie is dead; it only waits to be reaped)."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
            out.append(pid)
    return out
