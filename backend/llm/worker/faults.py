"""A test hook that makes a model worker die natively mid-stream, like llama.cpp does on a bad CPU path.

``DEEPONES_TEST_WORKER_FAULT`` (read in the worker and canary children only)::

    KIND[@N][:once]   KIND = abort | segv | exit. The serving worker dies after the N-th token
                      (default 1) of a generation: os.abort() (SIGABRT), SIGSEGV, or os._exit(3).
                      ``:once`` faults only the first time per data dir (a marker file), so Retry
                      answers. The canary child is not affected.
    canary            Simulates the AMX fault: any worker or canary child that runs with llama.cpp's
                      default settings (use_extra_bufts on) dies with SIGSEGV at the first token;
                      with use_extra_bufts=False it works.

``DEEPONES_TEST_WORKER_LOAD_DELAY=SECONDS`` makes every model load in a worker or canary child
started while it is set take that much longer (a big model on a slow disk), so tests can show that
a warm worker keeps answering while another model loads.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

ENV = "DEEPONES_TEST_WORKER_FAULT"
KINDS = ("abort", "segv", "exit")
MARKER = ".worker-fault-fired"


@dataclass
class Fault:
    kind: str                 # abort | segv | exit
    after_tokens: int = 1
    once: bool = False
    default_settings_only: bool = False   # the "canary" variant
    in_canary: bool = False

    def applies(self, *, canary: bool, use_extra_bufts: bool) -> bool:
        if canary and not self.in_canary:
            return False
        if self.default_settings_only and not use_extra_bufts:
            return False
        if self.once and _marker().exists():
            return False
        return True

    def fire(self) -> None:
        if self.once:
            marker = _marker()
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("fired")
        if self.kind == "abort":
            os.abort()
        if self.kind == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(3)


def _marker() -> Path:
    from backend.paths import data_dir

    return data_dir() / MARKER


def parse(value: str | None) -> Fault | None:
    """The fault described by ``value`` (the env var), None when empty; ValueError when malformed."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if value == "canary":
        return Fault("segv", 1, default_settings_only=True, in_canary=True)
    spec, _, flag = value.partition(":")
    kind, _, count = spec.partition("@")
    if kind not in KINDS or (count and not count.isdigit()) or flag not in ("", "once"):
        raise ValueError(f"{ENV}={value!r}: expected abort|segv|exit[@N][:once] or canary")
    return Fault(kind, int(count or 1), once=flag == "once")


LOAD_DELAY_ENV = "DEEPONES_TEST_WORKER_LOAD_DELAY"


def load_delay() -> float:
    """Seconds a worker or canary child waits before loading its model (0 unless the test hook is set)."""
    try:
        return max(0.0, float(os.environ.get(LOAD_DELAY_ENV) or 0))
    except ValueError:
        return 0.0


def from_env() -> Fault | None:
    return parse(os.environ.get(ENV))
