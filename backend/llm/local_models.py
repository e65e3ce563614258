"""Loaded llama.cpp models, shared by every backend in the process (Chat, Design, the CLI).

Loading is the slow part (seconds for big models) and a loaded model holds its weights in
memory, so the same (file, context size, GPU layers) is loaded once and reused. llama.cpp
contexts are not thread-safe: each :class:`LoadedModel` carries a lock held while it generates.

This module runs inside the model worker process (:mod:`backend.llm.worker`), never in the GUI:
llama.cpp is native code that can crash its process (a segfault in the AMX path on some VMs).
The app measured ~0.8x throughput through an HTTP hop (``llama_cpp.server``), so the worker
speaks a lean pickle protocol over a socket pair instead (``tests/benchmarks/bench_chat.py``).
Bad files are rejected before llama.cpp sees them (:mod:`backend.llm.gguf_info`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from backend.llm import llama_log
from backend.llm.base import BackendError
from backend.llm.batch_threads import override as batch_threads_override
from backend.llm.batch_threads import physical_cores
from backend.llm.gguf_info import GGUFInfo, read_gguf_info

log = logging.getLogger(__name__)
MAX_LOADED = 2  # models kept in memory at once (least recently used is released first)

_lock = threading.Lock()
_loaded: OrderedDict[tuple, LoadedModel] = OrderedDict()
_info_cache: dict[tuple[str, int, float], GGUFInfo] = {}


@dataclass
class LoadedModel:
    path: Path
    n_ctx: int
    n_gpu_layers: int
    llama: object                     # llama_cpp.Llama
    info: GGUFInfo
    load_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)


def gguf_info(path: Path) -> GGUFInfo:
    """Header metadata, cached by (path, size, mtime)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return read_gguf_info(path)  # raises the clear BadModelFile message
    key = (str(path.resolve()), st.st_size, st.st_mtime)
    if key not in _info_cache:
        _info_cache[key] = read_gguf_info(path)
    return _info_cache[key]


def default_threads() -> int:
    """Threads for token generation: ``DEEPONES_LLAMA_THREADS`` if set, else one per physical core,
    leaving one core to the GUI on small machines (<= 4 cores).

    Measured on 2 cores (bench_chat.py): SmolLM2 decodes at ~50 tokens/s on 1 thread and 52-60 on
    2, but 2 threads collapse to ~14 tokens/s whenever a third thread (the GUI, another program)
    wants a core, because llama.cpp's threads wait for each other at every step.
    """
    override = os.environ.get("DEEPONES_LLAMA_THREADS", "").strip()
    if override.isdigit() and int(override) > 0:
        return int(override)
    cores = physical_cores()
    return max(1, cores - 1) if cores <= 4 else cores


def default_batch_threads() -> int:
    """Threads for prompt processing at load: ``DEEPONES_LLAMA_BATCH_THREADS`` if set, else every physical
    core (a short burst while the GUI is idle). Long batch work (DeepQA) measures the count for the load
    at the time instead (:func:`backend.llm.batch_threads.tune`)."""
    return batch_threads_override() or physical_cores()


@contextlib.contextmanager
def _model_params(use_extra_bufts: bool):
    """Keyword arguments for ``Llama`` that switch llama.cpp's extra buffer types off when asked.

    llama-cpp-python 0.3.36's ``Llama`` has no ``use_extra_bufts`` argument, but builds its model
    parameters from ``llama_cpp.llama_model_default_params()`` (looked up in ``llama_cpp.llama``'s
    module namespace); for the duration of the load we hand it a struct with the field set.
    """
    import inspect

    import llama_cpp.llama as llama_module

    if use_extra_bufts:
        yield {}
        return
    if "use_extra_bufts" in inspect.signature(llama_module.Llama.__init__).parameters:
        yield {"use_extra_bufts": False}
        return
    lib = llama_module.llama_cpp
    original = lib.llama_model_default_params

    def without_extra_bufts():
        params = original()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_bufts
    try:
        yield {}
    finally:
        lib.llama_model_default_params = original


def load_model(path: Path, n_ctx: int, n_gpu_layers: int = 0, n_threads: int | None = None, *,
               use_extra_bufts: bool = True) -> LoadedModel:
    """The loaded model for these parameters, loading it (and checking the file) if needed.

    ``use_extra_bufts=False`` avoids llama.cpp's extra buffer types (the AMX path that segfaults
    inside some VMs); :mod:`backend.llm.worker.safe_mode` decides when.
    """
    path = Path(path).expanduser()
    info = gguf_info(path)  # BadModelFile for empty / text / truncated files, before llama.cpp sees them
    if info.context_length:
        n_ctx = min(n_ctx, info.context_length)
    key = (str(path.resolve()), n_ctx, n_gpu_layers, n_threads, use_extra_bufts)
    with _lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        llama_log.install()
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise BackendError("llama-cpp-python is not installed, so local GGUF models cannot run.",
                               retryable=False) from exc
        llama_log.recent_problems(clear=True)
        started = time.perf_counter()
        try:
            with _model_params(use_extra_bufts) as extra:
                llama = Llama(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                              n_threads=n_threads or default_threads(), n_threads_batch=default_batch_threads(),
                              verbose=False, **extra)
        except Exception as exc:
            why = "; ".join(llama_log.recent_problems(clear=True)[-3:])
            raise BackendError(
                f"llama.cpp could not load {path.name}: {exc}" + (f" ({why})" if why else ""),
                retryable=False,
            ) from exc
        model = LoadedModel(path, n_ctx, n_gpu_layers, llama, info, time.perf_counter() - started)
        log.info("loaded %s (n_ctx=%d, gpu layers=%d, extra buffer types %s) in %.2f s", path.name, n_ctx, n_gpu_layers,
                 "on" if use_extra_bufts else "off", model.load_s)
        _loaded[key] = model
        _evict_locked()
        return model


def _evict_locked() -> None:
    while len(_loaded) > MAX_LOADED:
        key, model = next(iter(_loaded.items()))
        if not model.lock.acquire(blocking=False):
            break  # busy generating: keep it for now
        try:
            _loaded.pop(key)
            _close(model)
        finally:
            model.lock.release()


def _close(model: LoadedModel) -> None:
    close = getattr(model.llama, "close", None)
    if close:
        close()


def loaded_models() -> list[LoadedModel]:
    with _lock:
        return list(_loaded.values())


def unload(path: Path | None = None) -> None:
    """Release loaded models (all, or those of ``path``), e.g. before deleting the file."""
    with _lock:
        for key in list(_loaded):
            if path is None or key[0] == str(Path(path).resolve()):
                model = _loaded.pop(key)
                with model.lock:
                    _close(model)


def _unload_at_exit() -> None:
    # Free models while the interpreter is intact: left to garbage collection at shutdown,
    # llama-cpp-python's __del__ runs after its module globals are gone and prints a TypeError.
    # A model still generating on a stuck thread is skipped rather than waited for.
    with _lock:
        models = list(_loaded.values())
        _loaded.clear()
    for model in models:
        if model.lock.acquire(timeout=2):
            try:
                _close(model)
            finally:
                model.lock.release()


atexit.register(_unload_at_exit)
