"""GGUF embeddings for the map, computed in the model worker (llama.cpp never runs in our process).

:func:`embedder` returns ``embed(texts) -> float32 array``; each call is one round trip to the
worker of ``MODEL`` (``embedded``, a path to a .gguf, or a model name the catalog knows), which
runs :func:`embed_texts` there. The worker's chat model was loaded for generation; llama.cpp needs
a context created in embedding mode, so :func:`embed_texts` opens a second ``Llama`` on the same
file with ``embedding=True`` and mean pooling, once per worker, and keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CALL_BATCH = 32  # texts per worker round trip
EMBED_CTX = 512  # tokens of each text that count (the head of question + answer)

_embedding_models: dict[str, object] = {}


def embed_texts(llama, texts: list[str]) -> list[list[float]]:
    """Inside the worker: L2-normalised mean-pooled embeddings of ``texts`` (JSON-able lists)."""
    import llama_cpp

    path = str(llama.model_path)
    model = _embedding_models.get(path)
    if model is None:
        model = llama_cpp.Llama(
            model_path=path,
            embedding=True,
            n_ctx=EMBED_CTX,
            n_batch=EMBED_CTX,
            n_ubatch=EMBED_CTX,
            pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
            n_threads=llama.context_params.n_threads,
            verbose=False,
        )
        _embedding_models[path] = model
    out = []
    for text in texts:
        # One text per call: batching several sequences needs n_seq_max > 1 set at load time, and the
        # point of this path is quality, not speed (TF-IDF is the fast default).
        vector = model.embed(text or " ", normalize=True, truncate=True)
        if vector and isinstance(vector[0], list):  # pooling ignored by an old build: mean of tokens
            vector = np.mean(np.asarray(vector, dtype=np.float64), axis=0).tolist()
        out.append([float(v) for v in vector])
    return out


def embedder(model: str) -> Callable[[list[str]], np.ndarray]:
    """``embed(texts)`` through the model worker of ``model`` (crashes become a BackendError, not ours)."""
    from backend.llm.resolve import get_backend

    backend = get_backend(model)

    def embed(texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), CALL_BATCH):
            rows += backend.call("backend.datamap.gguf_embed:embed_texts", texts[i : i + CALL_BATCH])
        vectors = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)

    return embed
