"""The one NVML sampler (nvidia-ml-py), standard library only.

Used in-process by the job supervisor (which imports it as a sibling module and records
``gpu.jsonl``) and, through :mod:`backend.gpu`, in a throwaway child by the app: a crashing driver
library then costs an error message, never the window. ``python nvml.py`` prints one reading as
JSON (what that child runs).
"""

from __future__ import annotations

import sys
import time

_state: dict = {"nvml": None, "error": ""}


def init() -> object | None:
    """The pynvml module, initialised once; None when there is no NVIDIA GPU or no library."""
    if _state["nvml"] is None:
        try:
            import pynvml

            pynvml.nvmlInit()
            _state["nvml"] = pynvml
        except Exception as exc:  # noqa: BLE001 - no driver, no library, no GPU: all mean "none"
            _state["nvml"] = False
            _state["error"] = str(exc) or type(exc).__name__
    return _state["nvml"] or None


def error() -> str:
    return _state["error"]


def _maybe(fn, *args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - some boards do not report every sensor
        return None


def sample() -> list[dict]:
    """One reading per GPU: index, name, memory (MB), utilisation (%), temperature (C), power (W)."""
    nv = init()
    if nv is None:
        return []
    rows = []
    now = time.time()
    for i in range(nv.nvmlDeviceGetCount()):
        h = nv.nvmlDeviceGetHandleByIndex(i)
        name = _maybe(nv.nvmlDeviceGetName, h) or ""
        mem = nv.nvmlDeviceGetMemoryInfo(h)
        util = _maybe(nv.nvmlDeviceGetUtilizationRates, h)
        power = _maybe(nv.nvmlDeviceGetPowerUsage, h)
        rows.append({
            "t": now, "index": i, "name": name.decode() if isinstance(name, bytes) else str(name),
            "util_pct": float(util.gpu) if util is not None else None,
            "mem_used_mb": mem.used / 2**20, "mem_total_mb": mem.total / 2**20,
            "temp_c": _maybe(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
            "power_w": power / 1000.0 if power is not None else None,
        })
    return rows


def main() -> int:
    import json

    try:
        rows = sample()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as data
        print(json.dumps({"gpus": [], "error": f"NVML failed: {exc}"}))
        return 0
    print(json.dumps({"gpus": rows, "error": "" if rows or init() else error()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
