"""Fitting a conversation into a model's context window by leaving out the oldest turns.

A long chat must never crash the model with "prompt too long": we keep the system prompt and
the newest turns, drop the oldest until the prompt plus the answer budget fits, and report how
many messages were left out so the view can say so.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.llm.base import BackendError, Message

# Chat templates add a few tokens of framing per message (role markers, separators).
PER_MESSAGE_OVERHEAD = 8
# Never let the answer budget shrink below this when the prompt is long.
MIN_ANSWER_TOKENS = 64


def fit_messages(
    messages: list[Message],
    context_size: int,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> tuple[list[Message], int]:
    """(messages that fit, number of messages left out).

    The system message(s) at the start and the last message are always kept; whole older
    messages go first, oldest first. Raises :class:`BackendError` when even the last message
    alone is too long for the context.
    """
    if not messages or context_size <= 0:
        return messages, 0
    budget = context_size - min(max_tokens, max(MIN_ANSWER_TOKENS, context_size // 4))
    head = []
    rest = list(messages)
    while rest and rest[0].get("role") == "system":
        head.append(rest.pop(0))
    sizes = [count_tokens(str(m.get("content", ""))) + PER_MESSAGE_OVERHEAD for m in rest]
    used = sum(count_tokens(str(m.get("content", ""))) + PER_MESSAGE_OVERHEAD for m in head) + sum(sizes)
    dropped = 0
    # Drop from the front, but never the final message (the question being asked).
    while used > budget and len(rest) > 1:
        used -= sizes.pop(0)
        rest.pop(0)
        dropped += 1
    # A conversation should not start with an orphaned assistant reply.
    while len(rest) > 1 and rest[0].get("role") == "assistant":
        used -= sizes.pop(0)
        rest.pop(0)
        dropped += 1
    if used > budget:
        raise BackendError(
            f"The message is too long for the model's context window ({used} tokens needed, "
            f"{budget} available with a context of {context_size}). Shorten it or raise the context size.",
            retryable=False,
        )
    return head + rest, dropped
