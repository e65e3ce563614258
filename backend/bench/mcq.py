"""What every DeepQA scorer shares: a question, the error fit for the user, and the log-likelihood prompt.

Apart from :mod:`backend.bench.deepqa` so the scorers in other modules (the endpoint's) can use them
without importing the evaluation code back.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.errors import UserError


class DeepQAError(UserError, ValueError):
    """Bad questions or an unusable model; ``str(exc)`` is one line fit for the user."""


@dataclass(frozen=True)
class MCQ:
    question: str
    options: dict[str, str]     # letter -> text, in letter order
    answer: str                 # a letter among the options
    category: str


def loglik_prompt(item: MCQ) -> tuple[str, list[str]]:
    """Context and continuations, ARC-style as in lm-evaluation-harness: each option's text is scored,
    after the target delimiter (acc_norm then divides by the option's text alone: loglik.choice_chars)."""
    from backend.bench.loglik import TARGET_DELIMITER

    return f"Question: {item.question}\nAnswer:", [TARGET_DELIMITER + item.options[k] for k in item.options]
