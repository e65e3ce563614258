"""Undoable curation commands for the QUndoStack: status, tags, notes, field edits.

Each command calls the Qt-free ``backend.datasets.curation`` functions, keeps what they
replaced, and tells the page which samples changed so the view refreshes those rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from backend.datasets import curation

if TYPE_CHECKING:
    import sqlite_utils

Changed = Callable[[list[int]], None]


class SetStatusCommand(QUndoCommand):
    def __init__(self, db: sqlite_utils.Database, ids: list[int], status: str, changed: Changed,
                 previous: dict | None = None) -> None:
        super().__init__(f"Mark {len(ids):,} sample{'s' if len(ids) != 1 else ''} {status}")
        self.db, self.ids, self.status, self.changed = db, list(ids), status, changed
        self.previous: dict = previous or {}
        self._already_done = previous is not None  # a bulk change applied on a worker thread

    def redo(self) -> None:
        if self._already_done:
            self._already_done = False
        else:
            self.previous = curation.set_status(self.db, self.ids, self.status)
        self.changed(self.ids)

    def undo(self) -> None:
        curation.restore_status(self.db, self.previous)
        self.changed(self.ids)


class TagCommand(QUndoCommand):
    def __init__(self, db: sqlite_utils.Database, ids: list[int], tag: str, changed: Changed,
                 remove: bool = False, touched: list[int] | None = None) -> None:
        verb = "Untag" if remove else "Tag"
        super().__init__(f"{verb} {len(ids):,} sample{'s' if len(ids) != 1 else ''} '{tag}'")
        self.db, self.ids, self.tag, self.changed, self.remove = db, list(ids), tag, changed, remove
        self.touched: list[int] = touched or []
        self._already_done = touched is not None  # a bulk tag applied on a worker thread

    def redo(self) -> None:
        fn = curation.remove_tag if self.remove else curation.add_tag
        if self._already_done:
            self._already_done = False
        else:
            self.touched = fn(self.db, self.ids, self.tag)
        self.changed(self.ids)

    def undo(self) -> None:
        fn = curation.add_tag if self.remove else curation.remove_tag
        fn(self.db, self.touched, self.tag)
        self.changed(self.ids)


class EditFieldCommand(QUndoCommand):
    """An inline edit (text, category, kind, note); each redo/undo is recorded in the edit history."""

    def __init__(self, db: sqlite_utils.Database, sample_id: int, field: str, value: str, changed: Changed,
                 old: str | None) -> None:
        # Applied by the caller first (so a refused edit never reaches the stack); the first redo is a no-op.
        super().__init__(f"Edit {field} of #{sample_id}")
        self.db, self.sample_id, self.field, self.value, self.changed = db, sample_id, field, value, changed
        self.old = old
        self._already_done = True

    def redo(self) -> None:
        if self._already_done:
            self._already_done = False
        else:
            curation.edit_field(self.db, self.sample_id, self.field, self.value)
        self.changed([self.sample_id])

    def undo(self) -> None:
        curation.edit_field(self.db, self.sample_id, self.field, self.old if self.old is not None else "")
        self.changed([self.sample_id])
