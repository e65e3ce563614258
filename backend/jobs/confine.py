"""Confinement of a job's program, standard library only (the lean supervisor imports it).

Three kernel features, each applied where the kernel has it and reported either way:

* **Landlock** (Linux 5.13+): the program may read the whole file system except the app's store,
  settings and the user's credential folders, and may write only to its job folder, its temp folder
  and the execution environment's caches. Landlock only *grants*, it cannot deny a sub-path of a
  granted path, so :func:`grant_list` builds the grants by walking down from each root: a folder
  with nothing forbidden inside is granted whole, a folder holding something forbidden is replaced
  by its children (recursively), and a forbidden path is left out. Entries created later inside a
  folder that was split that way (the data dir, the home dir, /tmp) are not reachable by the job.
  On ABI 6+ the program also cannot signal, or connect to abstract unix sockets of, processes
  outside its domain; on every ABI it cannot ptrace (or read ``/proc/PID/environ`` / ``mem`` of)
  a process outside its domain.
* **User + PID namespaces**: the supervisor enters a user namespace (same uid inside) and a new PID
  namespace for its children. The first child is the namespace's init (a few lines of Python, below),
  which mounts a fresh ``/proc`` so the app's processes are not even listed, and then runs the program.
  When init dies (its parent-death signal fires when the supervisor disappears) the kernel kills every
  process in the namespace: nothing of a job outlives its supervisor.
* **Non-dumpable** supervisor (``PR_SET_DUMPABLE 0``): a same-user process cannot read its environment
  or memory.
"""

from __future__ import annotations

import ctypes
import os

if __package__:   # imported as backend.jobs.confine; the lean supervisor imports it as a sibling
    from backend.jobs import isolation
else:
    import isolation

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8

SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Landlock file-system rights (include/uapi/linux/landlock.h) and the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ_RIGHTS = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV   # the only rights a rule on a file may carry

# One libc handle for the job's process, loaded once (see isolation.libc: before any fork).
libc = isolation.libc


def _err(what: str) -> str:
    errno = ctypes.get_errno()
    return f"{what}: {os.strerror(errno)} (errno {errno})"


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (or it is disabled at boot)."""
    try:
        fn = libc().syscall
        fn.restype = ctypes.c_long
        abi = fn(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                 ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(0, int(abi))


def handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1          # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def apply_landlock(read: list[str], write: list[str]) -> str:
    """Restrict this process (and everything it starts) to the grants; returns what was applied.

    Raises OSError with a readable message when it cannot be applied. Paths that do not exist are
    skipped (nothing to grant). Sets ``no_new_privs`` first, as Landlock requires without CAP_SYS_ADMIN.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError("the kernel has no Landlock")
    lc = libc()
    lc.syscall.restype = ctypes.c_long
    handled = handled_fs(abi)
    attr = _RulesetAttr(handled, 0, (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = lc.syscall(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                    ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(_err("landlock_create_ruleset"))
    try:
        for paths, rights in ((read, READ_RIGHTS), (write, handled)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue   # vanished since the plan was made: nothing to grant
                try:
                    is_dir = os.path.isdir(f"/proc/self/fd/{pfd}")
                    rule = _PathBeneath(rights if is_dir else rights & FILE_RIGHTS & handled, pfd)
                    if lc.syscall(ctypes.c_long(SYS_LANDLOCK_ADD_RULE), ctypes.c_int(fd),
                                  ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                        raise OSError(_err(f"landlock_add_rule {path}"))
                finally:
                    os.close(pfd)
        if lc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(_err("prctl(PR_SET_NO_NEW_PRIVS)"))
        if lc.syscall(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(fd), ctypes.c_uint32(0)) < 0:
            raise OSError(_err("landlock_restrict_self"))
    finally:
        os.close(fd)
    return f"landlock ABI {abi}" + (" with signal and abstract-socket scoping" if abi >= 6 else "")


def set_non_dumpable() -> bool:
    """No same-user process can read this process's /proc/PID/environ or memory (ptrace rules)."""
    try:
        return libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def set_parent_death_signal(sig: int) -> bool:
    try:
        return libc().prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def enter_user_and_pid_namespace() -> tuple[bool, str]:
    """Put this (single-threaded) process in a new user namespace with the same uid/gid inside, and
    make its next child the init of a new PID namespace. Returns (done, why not)."""
    uid, gid = os.getuid(), os.getgid()
    lc = libc()
    # A non-dumpable process's /proc/self files belong to root: without root it could not write its
    # own id maps. Dumpable only for these few calls (nothing else runs in this process meanwhile).
    was_dumpable = lc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    lc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        if lc.unshare(CLONE_NEWUSER | CLONE_NEWPID) == 0:
            try:
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"{uid} {uid} 1")
                _write("/proc/self/gid_map", f"{gid} {gid} 1")
            except OSError as exc:   # the namespaces exist all the same; ids show as "nobody" inside
                return True, f"user namespace without id maps ({exc})"
            return True, ""
    finally:
        if was_dumpable != 1:
            lc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    why = _err("unshare(user+pid namespaces)")
    # Root without user namespaces can still have the PID namespace.
    if lc.unshare(CLONE_NEWPID) == 0:
        return True, why + "; PID namespace only"
    return False, why


def mount_private_proc() -> bool:
    """In a new mount namespace, a /proc of this PID namespace only (the init of the namespace calls it)."""
    lc = libc()
    if lc.unshare(CLONE_NEWNS) != 0:
        return False
    if lc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    return lc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0


# -- the plan (computed by the runner in the app; applied by the program's process) ---------------

def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def grant_list(roots: list[str], forbidden: list[str], limit: int = 20000) -> list[str]:
    """Paths to grant so that everything under ``roots`` is reachable except ``forbidden`` (see module doc)."""
    bad = {os.path.realpath(p) for p in forbidden}
    # Every folder that holds something forbidden somewhere below it: those are split, never granted whole.
    holders: set[str] = set()
    for b in bad:
        parent = os.path.dirname(b)
        while parent not in holders:
            holders.add(parent)
            if parent == "/" or not parent:
                break
            parent = os.path.dirname(parent)
    out: list[str] = []
    seen: set[str] = set()

    def forbidden_itself_or_inside(real: str) -> bool:
        path = real
        while True:
            if path in bad:
                return True
            up = os.path.dirname(path)
            if up == path:
                return False
            path = up

    def visit(real: str) -> None:
        if real in seen or len(out) >= limit:
            return
        seen.add(real)
        if forbidden_itself_or_inside(real):
            return
        if real not in holders:
            out.append(real)            # nothing forbidden inside: grant it whole
            return
        try:
            entries = sorted(os.scandir(real), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = os.path.join(real, entry.name)
            try:
                link = entry.is_symlink()
            except OSError:
                link = True
            # The folder is resolved already, so only a link needs resolving (what it points to is what
            # a grant would open, and it may point into something forbidden).
            visit(os.path.realpath(path) if link else path)

    for root in roots:
        if os.path.exists(root):
            visit(os.path.realpath(root))
    return out
