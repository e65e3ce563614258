"""How the app starts a Python child of its own (model worker, job supervisor, quantiser, doctor).

Installed with pip, that is ``sys.executable -m module``. In the frozen desktop bundle there is no
``python``: ``sys.executable`` is the app itself, so the app's launcher accepts ``--python`` and then
behaves like an interpreter for ``-c CODE``, ``-m MODULE`` or a script path. Every child of the app
is started through :func:`python_argv`, so both installs work the same way.
"""

from __future__ import annotations

import os
import runpy
import sys

# Interpreter flags a pip install passes for isolation; a frozen app has no site-packages or
# environment-driven paths to isolate from, so they are accepted and ignored there.
_IGNORED_FLAGS = {"-I", "-S", "-E", "-s", "-u", "-B", "-O"}


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def python_argv(*args: str) -> list[str]:
    """argv for a Python of this app running ``args`` (``"-m", "pkg.mod", ...`` or ``"-c", code, ...``)."""
    if is_frozen():
        return [sys.executable, "--python", *args]
    return [sys.executable, *args]


def run_as_python(argv: list[str]) -> int:
    """The frozen app's ``--python`` mode: run ``-c CODE``, ``-m MODULE`` or a script like ``python`` would."""
    args = list(argv)
    while args and args[0] in _IGNORED_FLAGS:
        args.pop(0)
    if not args:
        print("deepones --python: give -c CODE, -m MODULE or a script", file=sys.stderr)
        return 2
    if args[0] == "-c" and len(args) >= 2:
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    elif args[0] == "-m" and len(args) >= 2:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(args)
        runpy.run_path(args[0], run_name="__main__")
    return 0


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited.

    Someone else's process (PermissionError) counts as alive; a zombie (exited, waiting for its
    parent to reap it) counts as gone, since a killed child we have not waited on is one.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True   # no /proc (not Linux): kill(0) said it exists
