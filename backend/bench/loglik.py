"""Multiple-choice scoring by log-likelihood, as lm-evaluation-harness does it, on a llama.cpp model.

Runs where the model lives (in-process, or inside the model worker through its generic call:
``client.call("backend.bench.loglik:score_options", prompt, options)``), so only numbers cross.
The prompt is evaluated once; every option continues from that KV cache (the cache is cut back to
the prompt before each option), so a question costs one prompt plus the options' tokens.
"""

from __future__ import annotations

import math
from typing import Any

# lm-evaluation-harness builds each multiple-choice request as (context, target_delimiter + choice), with
# target_delimiter " " by default, and its acc_norm divides by the length of the *choice*, not of the
# continuation: ``completion_len = np.array([float(len(i)) for i in choices])`` with
# ``choices = self.doc_to_choice(doc)`` (lm_eval/api/task.py, ConfigurableTask.process_results, the
# "multiple_choice" branch). Counting the delimiter too flips answers between options of different lengths.
TARGET_DELIMITER = " "


def choice_chars(continuation: str) -> int:
    """The length acc_norm divides by: the continuation's characters without its leading target delimiter."""
    if continuation.startswith(TARGET_DELIMITER):
        continuation = continuation[len(TARGET_DELIMITER):]
    return len(continuation)


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


def _logits_all(llm: Any) -> bool:
    value = getattr(llm, "_logits_all", None)
    if value is None:
        value = getattr(getattr(llm, "context_params", None), "logits_all", False)
    return bool(value)


def _last_logits(llm: Any, logits_all: bool):
    """The logits after the last evaluated token. Without ``logits_all`` llama-cpp-python keeps no
    scores, so they are read from the context (the batch asked for the last token's logits only)."""
    import numpy as np

    if logits_all:
        return np.array(llm.scores[llm.n_tokens - 1], copy=True)
    return np.array(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)), copy=True)


def _batch_logits(llm: Any, tokens: list[int]) -> list:
    """Evaluate ``tokens`` after the current position in one batch, asking llama.cpp for the logits
    of every one of them (a model loaded without ``logits_all``, like the chat worker's, keeps only
    the last; ``Llama.eval`` would then leave nothing to read)."""
    import numpy as np

    rows: list = []
    step = max(1, int(getattr(llm, "n_batch", 512)))
    for start in range(0, len(tokens), step):
        chunk = tokens[start:start + step]
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        llm._batch.set_batch(batch=chunk, n_past=llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens:llm.n_tokens + len(chunk)] = chunk
        llm.n_tokens += len(chunk)
        block = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(chunk) * llm.n_vocab(),))
        rows += list(np.array(block, copy=True).reshape(len(chunk), llm.n_vocab()))
    return rows


def score_options(llm: Any, prompt: str, options: list[str]) -> list[dict]:
    """For each option: ``loglik`` (sum of its tokens' log-probabilities after ``prompt``),
    ``tokens``, ``chars`` (the choice's length without the leading delimiter, for acc_norm) and
    ``greedy`` (every token was the argmax). ``options`` are continuations: delimiter + choice.

    Deterministic: no sampling. ``llm`` is a ``llama_cpp.Llama``, loaded with or without
    ``logits_all``; each option is one batch either way.
    """
    import numpy as np

    ctx = list(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))
    if len(ctx) + 1 >= llm.n_ctx():
        raise ValueError(f"the prompt has {len(ctx)} tokens; the model's context is {llm.n_ctx()}")
    logits_all = _logits_all(llm)
    llm.reset()
    llm.eval(ctx)
    n_ctx = llm.n_tokens
    first_row = _last_logits(llm, logits_all)   # predicts the first option token
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
                rows += _batch_logits(llm, cont[:-1])
        total, greedy = 0.0, True
        for row, tok in zip(rows, cont, strict=True):
            total += _log_softmax_at(row, tok)
            greedy = greedy and int(np.argmax(row)) == tok
        out.append({"loglik": total, "tokens": len(cont), "chars": choice_chars(option),
                    "greedy": greedy})
    llm.n_tokens = n_ctx
    return out


def choose(scores: list[dict]) -> tuple[int, int]:
    """(index by acc, index by acc_norm): the highest log-likelihood, and the highest per character of
    the choice (``chars``: see :func:`choice_chars`), as lm-evaluation-harness picks them."""
    acc = max(range(len(scores)), key=lambda i: scores[i]["loglik"])
    norm = max(range(len(scores)), key=lambda i: scores[i]["loglik"] / max(1, scores[i]["chars"]))
    return acc, norm
