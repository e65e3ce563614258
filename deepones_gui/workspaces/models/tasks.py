"""The Models workspace's slow work, as plain functions for ``run_in_background`` (no Qt here)."""

from __future__ import annotations

from pathlib import Path

from backend.llm.base import BackendError
from deepones_gui.concurrent import Cancelled

NO_KEYRING_HINT = ("No OS keyring on this machine, so nothing can be stored here. Set the environment "
                   "variable instead before starting the app: {env}.")


def list_models(*, progress, partial, cancel) -> list[tuple[dict, dict | None, str]]:
    """[(model, gguf info or None, error)] for every local model."""
    from backend.llm.catalog import list_local_models
    from backend.llm.local_models import gguf_info

    out = []
    for m in list_local_models():
        try:
            out.append((m.to_dict(), gguf_info(Path(m.path)).to_dict(), ""))
        except BackendError as exc:
            out.append((m.to_dict(), None, str(exc)))
    return out


def lineage(db_path: Path, path: str, *, progress, partial, cancel) -> str:
    """A trained model's lineage in one paragraph ("" for any other model)."""
    from backend.store import connection
    from backend.train.export import lineage_summary, model_lineage

    with connection(db_path) as db:
        return lineage_summary(model_lineage(db, path))


def keyring_available(*, progress, partial, cancel) -> bool:
    # keyring's import and backend probing cost ~60 ms: never on the GUI thread.
    from backend.secrets import active_backend

    return active_backend() is not None


def gpu_offload(info: dict, context: int, *, progress, partial, cancel) -> str:
    from backend.llm.gguf_info import GGUFInfo
    from backend.llm.memory import gpu_offload_supported, suggest_gpu_layers

    sug = suggest_gpu_layers(GGUFInfo.from_dict(info), context)
    return sug.reason + ("" if gpu_offload_supported() or not sug.layers else
                         " (this llama-cpp-python build is CPU-only: reinstall it with CUDA to offload)")


def pull(repo: str, pattern: str, *, progress, partial, cancel) -> list[str]:
    from backend.llm.hub import PullCancelled
    from backend.llm.hub import pull as hub_pull

    try:
        return [str(p) for p in hub_pull(repo, pattern, progress=lambda p: progress(p.fraction, p.text()),
                                         cancel=cancel)]
    except PullCancelled:
        raise Cancelled() from None


def quantize(src: str, dst: str, qtype: str, *, progress, partial, cancel) -> dict:
    from backend.llm.quantize import QuantizeCancelled, quantize_model

    try:
        return quantize_model(src, dst, qtype, progress=progress, cancel=cancel).to_dict()
    except QuantizeCancelled:
        raise Cancelled() from None


def ask_endpoint(spec: str, *, progress, partial, cancel) -> str:
    from backend.llm.base import GenerationSettings
    from backend.llm.resolve import get_backend

    backend = get_backend(spec)
    try:
        response = backend.prompt([{"role": "user", "content": "Reply with the word OK."}],
                                  GenerationSettings(max_tokens=8, temperature=0))
        unlink = cancel.on_cancel(response.cancel)   # Cancel stops the test call
        try:
            text = response.text()
        finally:
            unlink()
    finally:
        backend.close()
    return f"Answered in {response.stats.total_s:.1f} s: {text.strip()[:60]!r}"
