"""Small functions run inside the model worker through ``client.call("module:function", *args)``.

Each takes the loaded ``llama_cpp.Llama`` first and returns something JSON-able. They are also
the model for other areas' in-worker functions (``backend.bench.loglik:score_options``).
"""

from __future__ import annotations

import os

from backend.llm.base import Message


def count_tokens(llama, texts: list[str]) -> list[int]:
    """Token counts of ``texts`` with the model's own tokenizer (one round trip for many texts)."""
    return [len(llama.tokenize(t.encode("utf-8"), add_bos=False, special=False)) if t else 0 for t in texts]


def fit_messages(llama, messages: list[Message], max_tokens: int) -> tuple[list[Message], int]:
    """:func:`backend.llm.context_window.fit_messages` with the model's context size and tokenizer."""
    from backend.llm.context_window import fit_messages as fit

    texts = [str(m.get("content", "")) for m in messages]
    counts = dict(zip(texts, count_tokens(llama, texts), strict=True))
    return fit(messages, llama.n_ctx(), max_tokens, counts.__getitem__)


def model_facts(llama) -> dict:
    """What the loaded model is: context size, vocabulary size, threads (also a smoke test of ``call``)."""
    return {"n_ctx": int(llama.n_ctx()), "n_vocab": int(llama.n_vocab()),
            "n_threads": int(llama.context_params.n_threads), "pid": os.getpid(),
            "use_extra_bufts": bool(getattr(llama.model_params, "use_extra_bufts", True))}


def reset(llama) -> None:
    """Forget the evaluated prompt, so the next generation pays for all of it (benchmarks)."""
    llama.reset()
