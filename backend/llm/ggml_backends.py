"""Which CPU kernels llama.cpp runs with, for builds that load them at run time.

A llama.cpp built with ``GGML_BACKEND_DL`` + ``GGML_CPU_ALL_VARIANTS`` (the desktop bundle's build,
see packaging/build_llama_any_cpu.sh) carries one ``libggml-cpu-<variant>.so`` per x86-64 level and
picks the best for the CPU at start. ggml only looks next to the *executable* and in the working
directory, not next to llama-cpp-python's own libraries, so :func:`load_cpu_variants` points it
there before the first model load. A native build (pip's default) has no variants: nothing to do.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

_loaded = False


def llama_lib_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return lib if lib.is_dir() else None


def cpu_variants(lib_dir: Path | None = None) -> list[str]:
    """Names of the CPU variants shipped with llama-cpp-python (empty for a native build)."""
    lib_dir = lib_dir or llama_lib_dir()
    if lib_dir is None:
        return []
    return sorted(m.group(1) for p in lib_dir.glob("libggml-cpu-*.so")
                  if (m := re.match(r"libggml-cpu-(.+)\.so$", p.name)))


def load_cpu_variants() -> str | None:
    """Load the best CPU variant before llama.cpp initialises; returns its name (None: native build).

    Idempotent. Must run in the process that loads models (the model worker), before ``Llama()``.
    """
    global _loaded
    lib_dir = llama_lib_dir()
    if lib_dir is None or not cpu_variants(lib_dir):
        return None
    if not _loaded:
        import llama_cpp  # noqa: F401 - loads libllama and its libggml dependencies first

        # The libggml libllama already uses: a frozen bundle keeps libggml.so and libggml.so.0 as two
        # copies, and loading the other one would fill a second, unused backend registry.
        ggml = ctypes.CDLL(_mapped("libggml.so") or str(lib_dir / "libggml.so"))
        ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
        if ggml.ggml_backend_reg_count() == 0 or loaded_cpu_variant() is None:
            ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
            ggml.ggml_backend_load_all_from_path(str(lib_dir).encode())
        _loaded = True
    return loaded_cpu_variant()


def loaded_cpu_variant() -> str | None:
    """The ``libggml-cpu-<variant>.so`` mapped into this process, if any (Linux: /proc/self/maps)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    found = re.search(r"libggml-cpu-([A-Za-z0-9_.]+)\.so", maps)
    return found.group(1) if found else None


def _mapped(stem: str) -> str | None:
    """Path of a loaded library whose file name starts with ``stem`` (e.g. libggml.so.0)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    found = re.search(r"(/\S*/" + re.escape(stem) + r"(?:\.\d+)*)\n", maps)
    return found.group(1) if found else None
