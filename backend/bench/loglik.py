"""Multiple-choice scoring by log-likelihood, as lm-evaluation-harness does it, on a llama.cpp model.

Runs where the model lives (in-process, or inside the model worker through its generic call:
``client.call("backend.bench.loglik:score_options", prompt, options)``), so only numbers cross.
The prompt is evaluated once; every option continues from that KV cache (the cache is cut back to
the prompt before each option), so a question costs one prompt plus the options' tokens.
"""

from __future__ import annotations

import math
from typing import Any


def _log_softmax_at(row, token: int) -> float:
    import numpy as np

    row = np.asarray(row, dtype=np.float64)
    peak = row.max()
    return float(row[token] - peak - math.log(np.exp(row - peak).sum()))


def _continuation(llm: Any, prompt: str, ctx: list[int], option: str) -> list[int]:
    """The option's tokens as they follow the prompt (lm-eval: encode the whole, cut the context off)."""
    whole = llm.tokenize((prompt + option).encode("utf-8"), add_bos=True, special=False)
    if whole[:len(ctx)] == ctx and len(whole) > len(ctx):
        return list(whole[len(ctx):])
    return list(llm.tokenize(option.encode("utf-8"), add_bos=False, special=False))


def score_options(llm: Any, prompt: str, options: list[str]) -> list[dict]:
    """For each option: ``loglik`` (sum of its tokens' log-probabilities after ``prompt``),
    ``tokens``, ``chars`` (for acc_norm) and ``greedy`` (every token was the argmax).

    Deterministic: no sampling. ``llm`` is a ``llama_cpp.Llama``; with ``logits_all=True`` each
    option is one batch, otherwise it is fed token by token (only the last logits are kept then).
    """
    import numpy as np

    ctx = list(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))
    if len(ctx) + 1 >= llm.n_ctx():
        raise ValueError(f"the prompt has {len(ctx)} tokens; the model's context is {llm.n_ctx()}")
    llm.reset()
    llm.eval(ctx)
    n_ctx = llm.n_tokens
    first_row = np.array(llm.scores[n_ctx - 1], copy=True)   # predicts the first option token
    logits_all = bool(getattr(llm.context_params, "logits_all", False))
    out = []
    for option in options:
        cont = _continuation(llm, prompt, ctx, option)
        if n_ctx + len(cont) > llm.n_ctx():
            raise ValueError(f"prompt plus option {option[:30]!r} exceed the model's context of {llm.n_ctx()} tokens")
        llm.n_tokens = n_ctx            # eval() drops the KV cache past n_tokens: back to the prompt
        rows = [first_row]
        if len(cont) > 1:
            if logits_all:
                llm.eval(cont[:-1])
                rows += [llm.scores[n_ctx + i] for i in range(len(cont) - 1)]
            else:
                for tok in cont[:-1]:
                    llm.eval([tok])
                    rows.append(np.array(llm.scores[llm.n_tokens - 1], copy=True))
        total, greedy = 0.0, True
        for row, tok in zip(rows, cont, strict=True):
            total += _log_softmax_at(row, tok)
            greedy = greedy and int(np.argmax(row)) == tok
        out.append({"loglik": total, "tokens": len(cont), "chars": len(option), "greedy": greedy})
    llm.n_tokens = n_ctx
    return out


def choose(scores: list[dict]) -> tuple[int, int]:
    """(index by acc, index by acc_norm): the highest log-likelihood, and the highest per character."""
    acc = max(range(len(scores)), key=lambda i: scores[i]["loglik"])
    norm = max(range(len(scores)), key=lambda i: scores[i]["loglik"] / max(1, scores[i]["chars"]))
    return acc, norm
