"""llama.cpp writes its logs from C straight to stderr; route them into the app's log instead.

:func:`install` registers one ``llama_log_set`` callback for the whole process. Lines go to the
``llama_cpp`` Python logger (DEBUG/INFO lines at DEBUG, so the app log stays readable), the last
warnings/errors are kept so a failed load can tell the user *why*, and listeners (quantisation
progress) can watch lines as they arrive.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
from collections.abc import Callable

log = logging.getLogger("llama_cpp")

# ggml_log_level: NONE=0, DEBUG=1, INFO=2, WARN=3, ERROR=4, CONT=5 (continues the previous line)
_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}
_CONT = 5

_lock = threading.Lock()
_installed = False
_callback = None  # the ctypes function object must stay alive as long as llama.cpp may call it
_partial: dict[int, tuple[int, str]] = {}  # thread id -> (level, text so far) for lines sent in pieces
_problems: collections.deque[str] = collections.deque(maxlen=20)
_listeners: list[Callable[[int, str], None]] = []


def _emit(level: int, line: str) -> None:
    line = line.rstrip()
    if not line:
        return
    py_level = _LEVELS.get(level, logging.DEBUG)
    log.log(py_level, "%s", line)
    if py_level >= logging.WARNING:
        _problems.append(line)
    for listener in list(_listeners):
        try:
            listener(py_level, line)
        except Exception:
            log.exception("llama log listener failed")


def _on_log(level: int, text: bytes | None, _user_data) -> None:
    piece = (text or b"").decode("utf-8", errors="replace")
    tid = threading.get_ident()
    with _lock:
        prev_level, buffered = _partial.pop(tid, (level, ""))
        if level == _CONT:
            level = prev_level
        buffered += piece
        *complete, rest = buffered.split("\n")
        if rest:
            _partial[tid] = (level, rest)
    for line in complete:
        _emit(level, line)


def install() -> bool:
    """Route llama.cpp's C logs into Python logging (idempotent). False if llama_cpp is missing."""
    global _installed, _callback
    with _lock:
        if _installed:
            return True
        try:
            import llama_cpp
        except ImportError:
            return False
        _callback = llama_cpp.llama_log_callback(_on_log)
        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        _installed = True
        return True


def recent_problems(clear: bool = False) -> list[str]:
    """The last warning/error lines llama.cpp logged (newest last)."""
    with _lock:
        lines = list(_problems)
        if clear:
            _problems.clear()
    return lines


def add_listener(listener: Callable[[int, str], None]) -> None:
    _listeners.append(listener)


def remove_listener(listener: Callable[[int, str], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)
