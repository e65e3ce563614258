"""Quantise a GGUF locally (``llama_cpp.llama_model_quantize``) in a child process, then validate.

Quantising a big model takes minutes and cannot be interrupted from inside llama.cpp, so it runs
in a child process: Cancel kills it, a crash in llama.cpp cannot take the app down, and its
per-tensor log lines ("[ 12/ 272] blk.0.attn_k.weight ...") become a progress fraction. The
result is written next to the target as ``*.partial``, proven to run by the canary of
:mod:`backend.llm.worker.safe_mode` (a short generation in another child, with its safe-mode
fallbacks), and only then renamed into place, so a half-written file never looks like a model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from backend.children import python_argv
from backend.llm.base import BackendError
from backend.llm.gguf_info import GGUFInfo, read_gguf_info
from backend.llm.worker.process import child_env, describe_exit
from backend.llm.worker.safe_mode import probe

# name -> llama_ftype (llama.h); the types the model manager offers.
QUANT_TYPES = {"Q4_K_M": 15, "Q5_K_M": 17, "Q8_0": 7, "Q4_0": 2, "Q6_K": 18, "F16": 1}
BITS_PER_WEIGHT = {"Q4_K_M": 4.9, "Q5_K_M": 5.7, "Q8_0": 8.5, "Q4_0": 4.5, "Q6_K": 6.6, "F16": 16.0}
_PROGRESS = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]")


class QuantizeCancelled(Exception):
    pass


def estimated_output_bytes(info: GGUFInfo, qtype: str) -> int:
    return int(info.parameters * BITS_PER_WEIGHT[qtype] / 8)


def quantize_model(
    src: Path | str,
    dst: Path | str,
    qtype: str = "Q4_K_M",
    *,
    allow_requantize: bool = True,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
) -> GGUFInfo:
    """Quantise ``src`` into ``dst``; returns the new file's info. Raises BackendError with a clear message."""
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    qtype = qtype.upper()
    if qtype not in QUANT_TYPES:
        raise BackendError(f"Unknown quantisation type {qtype!r}; choose one of {', '.join(QUANT_TYPES)}.",
                           retryable=False)
    info = read_gguf_info(src)
    if dst.exists():
        raise BackendError(f"{dst} already exists; delete it first or choose another name.", retryable=False)
    dst.parent.mkdir(parents=True, exist_ok=True)
    need = estimated_output_bytes(info, qtype)
    free = shutil.disk_usage(dst.parent).free
    if free < need * 1.1:
        raise BackendError(f"Not enough disk space in {dst.parent}: about {need / 2**30:.1f} GB needed, "
                           f"{free / 2**30:.1f} GB free.", retryable=False)
    partial = dst.with_name(dst.name + ".partial")
    partial.unlink(missing_ok=True)
    cmd = [*python_argv("-m", "backend.llm.quantize_worker"), str(src), str(partial), str(QUANT_TYPES[qtype]),
           "1" if allow_requantize else "0"]
    env = child_env()
    report = progress or (lambda _f, _t: None)
    report(0.0, f"Quantising {src.name} to {qtype}…")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    tail: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if cancel:
                raise QuantizeCancelled()
            tail = (tail + [line])[-8:]
            m = _PROGRESS.search(line)
            if m and int(m.group(2)):
                report(0.95 * int(m.group(1)) / int(m.group(2)), f"Tensor {m.group(1)} of {m.group(2)}")
        rc = proc.wait()
        if cancel:
            raise QuantizeCancelled()
    except BaseException:
        proc.kill()
        proc.wait()
        partial.unlink(missing_ok=True)
        raise
    if rc != 0 or not any(t.startswith("OK") for t in tail):
        partial.unlink(missing_ok=True)
        why = next((t for t in reversed(tail) if "error" in t.lower() or "failed" in t.lower()), tail[-1] if tail else "")
        crashed = f" (it crashed with {describe_exit(rc)[0]})" if rc < 0 else ""
        raise BackendError(f"Quantising {src.name} to {qtype} failed{crashed}: {why}", retryable=False)
    report(0.96, "Checking the result runs…")
    try:  # a canary generation in a throwaway child, falling back to safe settings if it crashes
        probe(partial, name=dst.name)
    except BackendError as exc:
        partial.unlink(missing_ok=True)
        raise BackendError(f"Quantising {src.name} to {qtype} produced a file llama.cpp cannot run: {exc}",
                           retryable=False) from exc
    os.replace(partial, dst)   # same size and mtime: the canary's record stays valid for dst
    report(1.0, f"Wrote {dst.name}")
    return read_gguf_info(dst)


def default_output_path(src: Path, qtype: str, models_dir: Path) -> Path:
    stem = re.sub(r"[.\-_](F32|F16|BF16|Q\d_\w+|Q\d_\d)$", "", src.stem, flags=re.IGNORECASE)
    return models_dir / f"{stem}.{qtype.upper()}.gguf"

