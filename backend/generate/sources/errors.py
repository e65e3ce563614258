"""The one error type every source reader raises: its message is shown to the user as it is."""

from __future__ import annotations

from backend.errors import UserError


class SourceError(UserError, ValueError):
    """A paper or repository cannot be read. ``str(exc)`` is one line, fit for the user."""

    def __init__(self, message: str) -> None:
        # One line, always: a reader's message may quote a library's multi-line text.
        super().__init__(" ".join(str(message).split()))


class Problems(list):
    """A list of readable items that also carries the one-line reports of what was skipped.

    Readers of many records (a manifest, an unarXive JSONL, a repository) keep going past a bad
    record and say so here ("corpus.jsonl:12: no body_text"), so nothing is lost silently.
    """

    def __init__(self, items=(), problems: list[str] | None = None) -> None:
        super().__init__(items)
        self.problems: list[str] = list(problems or [])
