"""The common base of every error the user is shown: ``str(exc)`` is one line fit for them.

Each area keeps its own class (``JobError``, ``StoreError``, ``BackendError``...) with the
built-in base callers already catch (``RuntimeError``, ``ValueError``...), and also derives from
:class:`UserError`, so one ``except UserError`` at a boundary (the CLI, a GUI error slot) shows
the message of any of them, and anything else is a bug with a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure whose message is for the user (bad input, a missing file, a refusal)."""


class HubError(UserError, RuntimeError):
    """A Hugging Face hub operation failed (a model or a data set: one class for both)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
