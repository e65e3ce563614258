"""Which real designer model to pull on this machine: a GGUF from the hub, sized to RAM, VRAM and disk.

The embedded SmolLM2 proves the app works but cannot design (it loops). A newcomer should not have
to know which GGUF fits their GPU: this module reads the machine (RAM, the largest GPU's memory,
free disk in the Hugging Face cache) and picks the largest coder model whose weights plus a working
context fit — e.g. a 7B coder at Q4_K_M on an 8 GB GPU, a 1.5B one on a CPU. The sizes here are
the hub's file sizes (rounded); the pull itself asks the hub for the exact files (:mod:`backend.llm.hub`).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.units import format_bytes

GB = 10**9


@dataclass(frozen=True)
class DesignerModel:
    label: str  # what the user reads, e.g. "Qwen2.5-Coder-7B-Instruct Q4_K_M"
    repo_id: str  # hub repo holding the GGUF
    filename: str  # the one file to pull (a glob for hub.pull)
    size_bytes: int  # the file's size on the hub
    parameters: str  # "7B"

    def to_dict(self) -> dict:
        return asdict(self)


# Largest first. Qwen2.5-Coder-Instruct: strong at writing and fixing Python for its size, with a chat
# template llama.cpp knows; bartowski's quantisations are single files (no split GGUFs to join).
CATALOGUE: tuple[DesignerModel, ...] = (
    DesignerModel(
        "Qwen2.5-Coder-14B-Instruct Q4_K_M",
        "bartowski/Qwen2.5-Coder-14B-Instruct-GGUF",
        "Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf",
        8_990_000_000,
        "14B",
    ),
    DesignerModel(
        "Qwen2.5-Coder-7B-Instruct Q4_K_M",
        "bartowski/Qwen2.5-Coder-7B-Instruct-GGUF",
        "Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf",
        4_680_000_000,
        "7B",
    ),
    DesignerModel(
        "Qwen2.5-Coder-3B-Instruct Q4_K_M",
        "bartowski/Qwen2.5-Coder-3B-Instruct-GGUF",
        "Qwen2.5-Coder-3B-Instruct-Q4_K_M.gguf",
        1_930_000_000,
        "3B",
    ),
    DesignerModel(
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        "bartowski/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
        986_000_000,
        "1.5B",
    ),
)
CPU_CHOICE = "1.5B"  # on a CPU a bigger model answers too slowly for a design session (minutes per stage)
# Room beside the weights: KV cache for an 8k context and llama.cpp's compute buffers.
WORKING_MARGIN = 1.25
CONTEXT_RESERVE = 1 * GB


@dataclass(frozen=True)
class Machine:
    ram_bytes: int
    gpu_name: str  # "" without an NVIDIA GPU
    vram_bytes: int  # the largest GPU's total memory; 0 without one
    disk_free_bytes: int  # in the Hugging Face cache's file system

    def text(self) -> str:
        gpu = f"{self.gpu_name}, {format_bytes(self.vram_bytes)} VRAM" if self.vram_bytes else "no NVIDIA GPU"
        return (
            f"This machine: {format_bytes(self.ram_bytes)} RAM · {gpu} · "
            f"{format_bytes(self.disk_free_bytes)} free disk"
        )


@dataclass(frozen=True)
class Recommendation:
    machine: Machine
    model: DesignerModel | None
    reason: str  # why this one (or why none)
    fits_disk: bool

    def to_dict(self) -> dict:
        return {
            "machine": asdict(self.machine),
            "model": self.model.to_dict() if self.model else None,
            "reason": self.reason,
            "fits_disk": self.fits_disk,
        }


def _needs(model: DesignerModel) -> int:
    return int(model.size_bytes * WORKING_MARGIN) + CONTEXT_RESERVE


def recommend(machine: Machine, catalogue: tuple[DesignerModel, ...] = CATALOGUE) -> Recommendation:
    """The largest model that runs fully on the GPU; on a CPU the small one that answers in seconds."""
    by_params = {m.parameters: m for m in catalogue}
    model, reason = None, ""
    if machine.vram_bytes:
        model = next((m for m in catalogue if _needs(m) <= machine.vram_bytes), None)
        if model is not None:
            reason = (
                f"fits fully on the {machine.gpu_name} ({format_bytes(_needs(model))} with an 8k context "
                f"of {format_bytes(machine.vram_bytes)})"
            )
    if model is None:
        cpu = by_params.get(CPU_CHOICE) or catalogue[-1]
        if _needs(cpu) <= machine.ram_bytes:
            model = cpu
            reason = "runs on the CPU at a usable speed" + (
                ""
                if not machine.vram_bytes
                else f" (the GPU's {format_bytes(machine.vram_bytes)} is too small for a larger one)"
            )
        else:
            reason = (
                f"no recommended model fits {format_bytes(machine.ram_bytes)} of RAM; "
                "use an OpenAI-compatible endpoint instead"
            )
    fits = model is not None and machine.disk_free_bytes >= model.size_bytes * 1.05
    if model is not None and not fits:
        reason += f"; but only {format_bytes(machine.disk_free_bytes)} is free on disk for {format_bytes(model.size_bytes)}"
    return Recommendation(machine, model, reason, fits)


def probe_machine(cache_dir: Path | None = None) -> Machine:
    """RAM, the largest GPU (through the NVML child of :mod:`backend.gpu`) and free disk; ~0.1-1 s."""
    import psutil

    from backend.gpu import sample_gpus
    from backend.llm.catalog import hf_cache_dir

    gpus = sample_gpus()
    best = max(gpus, key=lambda g: g.memory_total_mb, default=None)
    target = Path(cache_dir) if cache_dir else hf_cache_dir()
    existing = next((p for p in (target, *target.parents) if p.exists()), Path.home())
    return Machine(
        ram_bytes=int(psutil.virtual_memory().total),
        gpu_name=best.name if best else "",
        vram_bytes=int(best.memory_total_mb * 2**20) if best else 0,
        disk_free_bytes=int(shutil.disk_usage(existing).free),
    )
