"""NVIDIA GPUs through NVML. Every function is safe on machines without a GPU, and against a
crashing driver library: the app samples in a short-lived child process (:mod:`backend.jobs.nvml`,
the same sampler the job supervisor uses), so a segfault there is an error message here.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.children import python_argv

_SAMPLER = Path(__file__).parent / "jobs" / "nvml.py"
_lock = threading.Lock()
# Once a child said there is no NVML here, later calls answer at once (as the in-process cache did).
_unavailable: str | None = None
_last_error = ""
_sampled = False


@dataclass
class GpuSample:
    index: int
    name: str
    memory_total_mb: float
    memory_used_mb: float
    utilization_pct: float | None
    temperature_c: float | None
    power_w: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _pynvml_dirs() -> list[str]:
    try:
        import importlib.util

        spec = importlib.util.find_spec("pynvml")
        return [str(Path(spec.origin).parent)] if spec and spec.origin else []
    except (ImportError, ValueError):
        return []


def _sample_in_child(timeout: float = 10.0) -> tuple[list[dict], str]:
    """(rows, error) from the sampler run in a child (``-I -S``: no site start-up, ~20 ms)."""
    boot = (f"import sys; sys.path[:0] = {[str(_SAMPLER.parent)]!r}; sys.path += {_pynvml_dirs()!r}; "
            "import nvml; sys.exit(nvml.main())")
    try:
        proc = subprocess.run(python_argv("-I", "-S", "-c", boot), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [], f"NVML did not answer within {timeout:g} s"
    except OSError as exc:
        return [], f"cannot start the NVML sampler: {exc}"
    if proc.returncode < 0:
        sig = signal.Signals(-proc.returncode).name if -proc.returncode in signal.Signals._value2member_map_ else ""
        return [], f"the NVML sampler crashed ({sig or 'signal ' + str(-proc.returncode)}); GPU readings are off"
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [], f"the NVML sampler failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
    return data.get("gpus", []), data.get("error", "")


def sample_gpus() -> list[GpuSample]:
    """One reading per GPU; an empty list when there is no NVIDIA GPU (or NVML failed: see nvml_status)."""
    global _unavailable, _last_error, _sampled
    with _lock:
        if _unavailable is not None:
            return []
        rows, err = _sample_in_child()
        _last_error, _sampled = err, True
        if not rows and err and "crashed" not in err and "did not answer" not in err:
            _unavailable = err
    return [GpuSample(index=r["index"], name=r["name"], memory_total_mb=r["mem_total_mb"],
                      memory_used_mb=r["mem_used_mb"], utilization_pct=r["util_pct"],
                      temperature_c=r["temp_c"], power_w=r["power_w"]) for r in rows]


def nvml_status() -> str:
    if not _sampled:
        sample_gpus()
    err = _unavailable or _last_error
    return f"no NVIDIA GPU ({err})" if err else "available"


def gpu_summary_text() -> str:
    gpus = sample_gpus()
    if not gpus:
        return "No NVIDIA GPU"
    return ", ".join(f"{g.name} ({g.memory_used_mb / 1024:.1f}/{g.memory_total_mb / 1024:.0f} GB)" for g in gpus)
