"""Threads for llama.cpp's batch decoding (prompts, DeepQA's options), picked for the machine as it is now.

llama.cpp splits a batch over ``n_threads_batch`` threads that meet at a barrier after every graph node.
When other work holds a core, a thread that loses its core holds the others at the barrier: on a busy
2-core machine 2 batch threads were measured 15x slower than 1 under the same load (issue 21), while on
an idle one 2 are faster. So the count is measured, not assumed: a short probe decodes the same batch
with each candidate count, interleaved, and the fastest median wins. ``DEEPONES_LLAMA_BATCH_THREADS``
(beside ``DEEPONES_LLAMA_THREADS`` for generation) fixes the count instead.

Runs where the model lives (the model worker, or the process that loaded it); Qt-free.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

ENV = "DEEPONES_LLAMA_BATCH_THREADS"
# Within this share of the fastest, fewer threads win: they leave cores to the rest of the machine and
# are the safer bet when the load rises between probes.
TIE_SHARE = 0.10
# A batch the size of a typical option: long enough to split across threads, short because on a loaded
# 2-core machine even one thread decodes SmolLM2 at ~100 tokens/s and the probe is repeated during a run.
PROBE_TEXT = "Question: Which layer normalises activations?\nAnswer:"
# After a round where one count is this many times slower than another, the answer is clear: stop early.
DECISIVE = 3.0


def physical_cores() -> int:
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except ImportError:  # pragma: no cover
        return max(1, (os.cpu_count() or 2) // 2)


def override() -> int | None:
    """The count fixed by ``DEEPONES_LLAMA_BATCH_THREADS``, or None (unset, or not a positive number)."""
    value = os.environ.get(ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def candidates(cores: int) -> list[int]:
    """The counts a probe compares: one thread, half the cores, every core."""
    return sorted({1, max(1, cores // 2), max(1, cores)})


def pick_fastest(timings: dict[int, list[float]], tie_share: float = TIE_SHARE) -> int:
    """The thread count with the lowest median time; a count within ``tie_share`` of it with fewer threads wins."""
    medians = {n: statistics.median(ts) for n, ts in timings.items() if ts}
    if not medians:
        raise ValueError("no timings to pick from")
    best = min(medians.values())
    return min(n for n, m in medians.items() if m <= best * (1 + tie_share))


def set_batch_threads(llm: Any, n: int) -> None:
    """Use ``n`` threads for batches on ``llm`` (a ``llama_cpp.Llama``) from now on; generation keeps its own."""
    import llama_cpp

    llama_cpp.llama_set_n_threads(llm._ctx.ctx, int(llm.n_threads), int(n))
    llm.n_threads_batch = int(n)
    llm.context_params.n_threads_batch = int(n)


def probe(llm: Any, counts: list[int], *, rounds: int = 3,
          measure: Callable[[int], float] | None = None) -> dict[int, list[float]]:
    """Seconds per batch decode for each count, up to ``rounds`` times, interleaved (1, 2, 1, 2, ...) so
    load that comes and goes lands on every count alike; a decisive first round ends it.
    ``measure(n)`` times one decode (tests give their own)."""
    if measure is None:
        tokens = list(llm.tokenize(PROBE_TEXT.encode("utf-8"), add_bos=True, special=False))

        def measure(n: int) -> float:
            set_batch_threads(llm, n)
            llm.reset()
            started = time.perf_counter()
            llm.eval(tokens)
            return time.perf_counter() - started

        measure(counts[0])   # warm-up, not counted: pages the weights in, sizes llama.cpp's buffers
    timings: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(rounds):
        for n in counts:
            timings[n].append(measure(n))
        medians = [statistics.median(ts) for ts in timings.values()]
        if max(medians) >= DECISIVE * min(medians):
            break   # e.g. a busy core stalling every barrier: more rounds would only cost time
    return timings


def tune(llm: Any, cores: int | None = None, *, measure: Callable[[int], float] | None = None) -> dict:
    """Pick and set the batch thread count for ``llm`` now; returns what was chosen and why (JSON-able):
    ``threads``, ``how`` ("setting" or "probe"), ``probe_ms`` (median per count), ``load`` and ``cores``."""
    cores = cores or physical_cores()
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    fixed = override()
    if fixed is not None:
        set_batch_threads(llm, fixed)
        return {"threads": fixed, "how": "setting", "probe_ms": {}, "load": load, "cores": cores}
    counts = candidates(cores)
    if len(counts) == 1:
        set_batch_threads(llm, counts[0])
        return {"threads": counts[0], "how": "probe", "probe_ms": {}, "load": load, "cores": cores}
    timings = probe(llm, counts, measure=measure)
    chosen = pick_fastest(timings)
    set_batch_threads(llm, chosen)
    llm.reset()
    return {"threads": chosen, "how": "probe", "load": load, "cores": cores,
            "probe_ms": {str(n): round(1000 * statistics.median(ts), 1) for n, ts in timings.items()}}


def describe(info: dict | None) -> str:
    """One line for the CLI and the GUI: the count(s) used and how they were picked."""
    if not info:
        return ""
    used = info.get("used") or {}
    counts = ", ".join(f"{n} ({q} question{'s' if q != 1 else ''})" for n, q in sorted(used.items(), key=lambda kv: int(kv[0])))
    last = info.get("last") or {}
    if last.get("how") == "setting":
        why = f"set by {ENV}"
    else:
        times = ", ".join(f"{n} thread{'s' if n != '1' else ''} {ms:g} ms" for n, ms in (last.get("probe_ms") or {}).items())
        why = f"measured: {times} per batch" if times else "one core"
    load = f"; load {last['load']:g} on {last.get('cores')} cores" if last.get("load") is not None else ""
    return f"batch threads: {counts or last.get('threads')} ({why}{load})"
