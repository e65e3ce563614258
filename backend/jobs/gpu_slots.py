"""GPU slots and GPU readings for the supervisor, standard library only.

Slots are ``flock`` files (``gpu<N>-slot<K>.lock``): the CLI and the GUI share one queue, and a
crashed supervisor frees its slot. Readings come from the one NVML sampler (:mod:`nvml`).
"""

from __future__ import annotations

import fcntl
import os
import time

# Not ``from typing import TYPE_CHECKING``: typing pulls in re, enum, collections and functools,
# ~60% of the lean supervisor's import time (it is on every job's launch path).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable

if __package__:
    from backend.jobs import jsonlite, nvml
else:  # the lean supervisor imports its siblings as top-level modules
    import jsonlite
    import nvml


def acquire_slots(gpu: str | None, slot_dir: str, per_gpu: int, cancelled: Callable[[], bool]) -> list[int] | None:
    """Wait until every GPU in ``gpu`` ("0" or "0,1") has a free slot; the held lock fds, or None when cancelled."""
    gpus = [g.strip() for g in str(gpu or "").split(",") if g.strip()]
    if not gpus:
        return []
    per_gpu = max(1, int(per_gpu or 1))
    os.makedirs(slot_dir, exist_ok=True)
    while not cancelled():
        held = []
        for g in sorted(gpus):
            got = None
            for k in range(per_gpu):
                fd = os.open(os.path.join(slot_dir, f"gpu{g}-slot{k}.lock"), os.O_CREAT | os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    got = fd
                    break
                except OSError:
                    os.close(fd)
            if got is None:
                break
            held.append(got)
        if len(held) == len(gpus):
            return held
        for fd in held:
            os.close(fd)
        time.sleep(0.5)
    return None


class GpuRecorder:
    """Appends one NVML reading per GPU every ``every`` seconds to ``gpu.jsonl`` (nothing without NVML)."""

    def __init__(self, path: str, every: float) -> None:
        self.path, self.every = path, float(every or 0)
        self.next = 0.0

    def maybe_sample(self, now: float) -> None:
        if not self.every or now < self.next:
            return
        self.next = now + self.every
        try:
            rows = nvml.sample()
        except Exception:  # noqa: BLE001 - a driver hiccup must not end the job
            return
        if rows:
            with open(self.path, "a", encoding="utf-8") as fh:
                for row in rows:
                    row.pop("name", None)
                    fh.write(jsonlite.dumps(row) + "\n")
