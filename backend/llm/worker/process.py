"""How a model-worker child is described and started: its load spec, environment and exit status."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoadSpec:
    path: str
    n_ctx: int
    n_gpu_layers: int | None = 0      # None: the worker picks the suggestion for the detected GPU
    n_threads: int | None = None
    use_extra_bufts: bool = True


def child_env() -> dict[str, str]:
    """The worker's environment: ours without secrets, and with this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN", "_SECRET"))}
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH", "")]))
    return env


def describe_exit(returncode: int | None) -> tuple[str, str]:
    """("SIGSEGV", "crashed: SIGSEGV") style description of how a child ended."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return name, name
    return "", f"exit code {returncode}"
