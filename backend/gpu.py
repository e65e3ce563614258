"""NVIDIA GPUs through NVML (nvidia-ml-py). Every function is safe on machines without a GPU."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

_init_lock = threading.Lock()
_nvml_state: bool | None = None
_nvml_error = ""


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


def _ensure_nvml() -> bool:
    global _nvml_state, _nvml_error
    with _init_lock:
        if _nvml_state is None:
            try:
                import pynvml

                pynvml.nvmlInit()
                _nvml_state = True
            except Exception as exc:  # noqa: BLE001 - no driver, no library, no GPU: all mean "none"
                _nvml_state = False
                _nvml_error = str(exc) or type(exc).__name__
        return bool(_nvml_state)


def nvml_status() -> str:
    return "available" if _ensure_nvml() else f"no NVIDIA GPU ({_nvml_error})"


def _maybe(fn, *args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - some boards do not report every sensor
        return None


def sample_gpus() -> list[GpuSample]:
    """One reading per GPU; an empty list when there is no NVIDIA GPU."""
    if not _ensure_nvml():
        return []
    import pynvml

    out = []
    for i in range(pynvml.nvmlDeviceGetCount()):
        h = pynvml.nvmlDeviceGetHandleByIndex(i)
        name = pynvml.nvmlDeviceGetName(h)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h)
        util = _maybe(pynvml.nvmlDeviceGetUtilizationRates, h)
        temp = _maybe(pynvml.nvmlDeviceGetTemperature, h, pynvml.NVML_TEMPERATURE_GPU)
        power = _maybe(pynvml.nvmlDeviceGetPowerUsage, h)
        out.append(
            GpuSample(
                index=i,
                name=name.decode() if isinstance(name, bytes) else str(name),
                memory_total_mb=mem.total / 2**20,
                memory_used_mb=mem.used / 2**20,
                utilization_pct=float(util.gpu) if util is not None else None,
                temperature_c=float(temp) if temp is not None else None,
                power_w=power / 1000.0 if power is not None else None,
            )
        )
    return out


def gpu_summary_text() -> str:
    gpus = sample_gpus()
    if not gpus:
        return "No NVIDIA GPU"
    return ", ".join(f"{g.name} ({g.memory_used_mb / 1024:.1f}/{g.memory_total_mb / 1024:.0f} GB)" for g in gpus)
