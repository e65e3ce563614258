"""Degenerate output: a detector for answers that loop, and sampling defaults that make loops rarer.

Small models (the embedded SmolLM2-135M above all) asked for a design often repeat one phrase
("utils.utils.utils...") until max tokens, a minute of streaming nobody reads. Every backend's
stream goes through :class:`LoopDetector` (in :meth:`backend.llm.base.ChatBackend.stream`), which
stops the answer with :data:`LOOP_REASON`; views then offer a retry with :func:`retry_settings`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Protocol, TypeVar

LOOP_REASON = "stopped: the model repeated itself"
RETRY_LABEL = "Retry with other settings"
MODEL_LOOP = "ModelLoop"   # the error type of a Design step whose answer looped

# Words and runs of punctuation: "utils.utils." is the 2-token unit ("utils", ".") repeating, and a
# "# ======" rule in code is one token, not 60 repeats of "=".
_TOKEN = re.compile(r"\w+|[^\w\s]+")
_WORD_END = re.compile(r"(?:\w+|[^\w\s]+)$")
MAX_PERIOD = 64          # the longest repeating unit looked for, in tokens (a few lines of text)
# A unit must come back this many times in a row and cover this many tokens: a design may well write
# out 8 identical layers, but no useful answer says the same thing 12 times; a looping model goes on
# for its whole token budget, so being strict costs only a few dozen tokens.
MIN_REPEATS = 12
MIN_LOOP_TOKENS = 96


class LoopDetector:
    """Fed the answer's text as it streams; :meth:`feed` returns True once the end of the answer is
    the same n-gram repeated :data:`MIN_REPEATS` times (and :data:`MIN_LOOP_TOKENS` tokens).

    Incremental, O(MAX_PERIOD) per token: ``run[p]`` counts how many tokens in a row equal the token
    ``p`` places before, so the tail is periodic with period ``p`` over ``run[p] + p`` tokens.
    """

    def __init__(self, *, max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS,
                 min_tokens: int = MIN_LOOP_TOKENS) -> None:
        self.max_period = max_period
        self.min_repeats = min_repeats
        self.min_tokens = min_tokens
        self._tokens: list[str] = []
        self._run = [0] * (max_period + 1)
        self._partial = ""   # a word cut between two chunks waits for the next chunk
        self.looped = False

    def feed(self, text: str) -> bool:
        if self.looped:
            return True
        text = self._partial + text
        # The last token may continue in the next chunk ("uti" + "ls"): hold it back until it ends.
        tail = _WORD_END.search(text)
        self._partial = tail.group() if tail else ""
        tokens = _TOKEN.findall(text[: tail.start()] if tail else text)
        for tok in tokens:
            if self._push(tok):
                self.looped = True
                return True
        return False

    def _push(self, tok: str) -> bool:
        toks = self._tokens
        toks.append(tok)
        n = len(toks)
        run = self._run
        for p in range(1, min(self.max_period, n - 1) + 1):
            if toks[-1] == toks[-1 - p]:
                run[p] += 1
                span = run[p] + p
                if span >= max(self.min_tokens, self.min_repeats * p):
                    return True
            else:
                run[p] = 0
        if n > 4 * self.max_period * self.min_repeats:  # only the tail matters; keep memory flat
            del toks[: n - 2 * self.max_period * self.min_repeats]
        return False


def is_loop_stop(reason: str | None) -> bool:
    return reason == LOOP_REASON


def default_repeat_penalty(model_size_bytes: int | None) -> float:
    """llama.cpp's repetition penalty for a model of this file size: tiny models loop most, so they
    get the strongest; 1.1 (llama.cpp's own CLI default) for the rest."""
    if model_size_bytes is not None and model_size_bytes < 600 * 1024**2:
        return 1.2
    return 1.1


class _Sampling(Protocol):
    """What :func:`retry_settings` reads: a GenerationSettings, named structurally so this module
    (which base.py imports) needs nothing from base.py."""

    repeat_penalty: float | None
    temperature: float
    seed: int | None


_S = TypeVar("_S", bound=_Sampling)


def retry_settings(settings: _S) -> _S:
    """Settings for "Retry with other settings" after a loop: a stronger repetition penalty and a
    warmer temperature break most loops; the seed is dropped so the retry is not the same draw."""
    penalty = settings.repeat_penalty if settings.repeat_penalty is not None else 1.1
    return dataclasses.replace(settings, repeat_penalty=round(min(penalty + 0.2, 1.6), 2),
                               temperature=round(min(max(settings.temperature, 0.3) + 0.3, 1.3), 2), seed=None)
