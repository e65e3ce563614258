"""backend/bench/loglik.py reaches into llama-cpp-python's private internals (``Llama._ctx``,
``Llama._batch``) for batched logits; pyproject pins the 0.3 series it was tested with. This test
names exactly what is used, so an update that moves any of it fails here, not in a user's DeepQA run."""

from __future__ import annotations

import importlib.metadata
import inspect


def test_the_private_llama_cpp_api_loglik_uses_is_there():
    import llama_cpp
    from llama_cpp import _internals

    major, minor, patch = (int(x) for x in importlib.metadata.version("llama-cpp-python").split(".")[:3])
    assert (0, 3, 2) <= (major, minor, patch) < (0, 4, 0)
    for name in ("get_logits", "kv_cache_seq_rm", "decode"):
        assert callable(getattr(_internals.LlamaContext, name, None)), f"LlamaContext.{name} is gone"
    assert "logits_all" in inspect.signature(_internals.LlamaBatch.set_batch).parameters
    init = inspect.getsource(llama_cpp.Llama.__init__)
    assert "self._ctx" in init and "self._batch" in init, "Llama no longer keeps _ctx/_batch"
    source = inspect.getsource(importlib.import_module("backend.bench.loglik"))
    used = {"_ctx.get_logits", "_ctx.kv_cache_seq_rm", "_ctx.decode", "_batch.set_batch"}
    assert all(name in source for name in used)   # the list above is what loglik uses
