"""How much memory a GGUF model needs, and how many layers to offload to the GPU.

Weights are memory-mapped, so they cost about the file size. The KV cache costs
``2 (K and V) x layers x context x kv_heads x head_dim x 2 bytes`` (f16, llama.cpp's default).
llama.cpp also needs compute buffers; we keep a reserve for them rather than pretend precision.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.llm.gguf_info import GGUFInfo

KV_BYTES_PER_VALUE = 2            # f16 cache
GPU_RESERVE_FRACTION = 0.10       # leave room for other programs and fragmentation
COMPUTE_BUFFER_BYTES = 512 * 2**20


@dataclass
class MemoryEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    compute_bytes: int
    context: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.compute_bytes


def kv_cache_bytes(info: GGUFInfo, context: int) -> int:
    kv_heads = info.head_count_kv or info.head_count
    per_token_per_layer = kv_heads * ((info.key_length or 0) + (info.value_length or 0))
    return int(info.layers * context * per_token_per_layer * KV_BYTES_PER_VALUE)


def estimate_memory(info: GGUFInfo, context: int) -> MemoryEstimate:
    # Compute buffers grow with the context and model width; a small floor keeps tiny models honest.
    compute = min(COMPUTE_BUFFER_BYTES, max(32 * 2**20, context * max(info.embedding_length, 1) * 4 * 4))
    return MemoryEstimate(info.size_bytes, kv_cache_bytes(info, context), compute, context)


@dataclass
class OffloadSuggestion:
    layers: int                  # value for n_gpu_layers (0 = CPU only)
    total_layers: int            # repeating layers + the output layer
    gpu_name: str
    free_bytes: int
    reason: str


def suggest_gpu_layers(info: GGUFInfo, context: int, free_bytes: int | None = None,
                       gpu_name: str = "") -> OffloadSuggestion:
    """Layers that fit in ``free_bytes`` of GPU memory (default: the freest detected NVIDIA GPU)."""
    total_layers = info.layers + 1
    if free_bytes is None:
        from backend import gpu

        gpus = gpu.sample_gpus()
        if not gpus:
            return OffloadSuggestion(0, total_layers, "", 0, "No NVIDIA GPU detected: the model runs on the CPU.")
        best = max(gpus, key=lambda g: g.memory_total_mb - g.memory_used_mb)
        free_bytes = int((best.memory_total_mb - best.memory_used_mb) * 2**20)
        gpu_name = best.name
    est = estimate_memory(info, context)
    usable = free_bytes * (1 - GPU_RESERVE_FRACTION) - est.compute_bytes
    per_layer = (est.weights_bytes + est.kv_cache_bytes) / max(total_layers, 1)
    layers = max(0, min(total_layers, int(usable // per_layer))) if per_layer > 0 else 0
    where = gpu_name or "the GPU"
    if layers >= total_layers:
        reason = f"All {total_layers} layers fit on {where} ({free_bytes / 2**30:.1f} GB free)."
    elif layers == 0:
        reason = f"Not enough free memory on {where} ({free_bytes / 2**30:.1f} GB free): run on the CPU."
    else:
        reason = (f"{layers} of {total_layers} layers fit on {where} ({free_bytes / 2**30:.1f} GB free); "
                  "the rest run on the CPU.")
    return OffloadSuggestion(layers, total_layers, gpu_name, free_bytes, reason)


def gpu_offload_supported() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # noqa: BLE001 - no library, no offload
        return False


def auto_gpu_layers(info: GGUFInfo, context: int) -> int:
    """n_gpu_layers to use when the user has not chosen: the suggestion, if this build can offload."""
    if not gpu_offload_supported():
        return 0
    return suggest_gpu_layers(info, context).layers
