"""Undoable curation commands for the QUndoStack: status, tags, notes, field edits.

Each command calls the Qt-free ``backend.datasets.curation`` functions, keeps what they
replaced, and tells the page which samples changed so the view refreshes those rows. A bulk
change (more than ``BULK_THRESHOLD`` samples) is redone and undone on a worker thread through
the page's :class:`Bulk` runner, with progress, like its first apply: millions of rows never
freeze the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from backend.datasets import curation
from deepones_gui.workspaces.data import tasks

if TYPE_CHECKING:
    import sqlite_utils

Changed = Callable[[list[int]], None]
BULK_THRESHOLD = 5_000


@dataclass
class Bulk:
    """Runs ``task(db_path, *args)`` off the GUI thread with progress, then calls ``done(result)``."""

    db_path: Path
    run: Callable[[str, Callable, tuple, Callable[[object], None]], None]


class SetStatusCommand(QUndoCommand):
    def __init__(self, db: sqlite_utils.Database, ids: list[int], status: str, changed: Changed,
                 previous: dict | None = None, bulk: Bulk | None = None) -> None:
        super().__init__(f"Mark {len(ids):,} sample{'s' if len(ids) != 1 else ''} {status}")
        self.db, self.ids, self.status, self.changed = db, list(ids), status, changed
        self.previous: dict = previous or {}
        self.bulk = bulk if len(self.ids) > BULK_THRESHOLD else None
        self._already_done = previous is not None  # a bulk change applied on a worker thread

    def redo(self) -> None:
        if self._already_done:
            self._already_done = False
            self.changed(self.ids)
        elif self.bulk is not None:
            def done(previous) -> None:
                self.previous = previous
                self.changed(self.ids)

            self.bulk.run(f"Marking {len(self.ids):,} samples {self.status}…", tasks.set_status,
                          (self.ids, self.status), done)
        else:
            self.previous = curation.set_status(self.db, self.ids, self.status)
            self.changed(self.ids)

    def undo(self) -> None:
        if self.bulk is not None:
            self.bulk.run(f"Undoing: {self.text()}…", tasks.restore_status, (self.previous,),
                          lambda _r: self.changed(self.ids))
            return
        curation.restore_status(self.db, self.previous)
        self.changed(self.ids)


class TagCommand(QUndoCommand):
    def __init__(self, db: sqlite_utils.Database, ids: list[int], tag: str, changed: Changed,
                 remove: bool = False, touched: list[int] | None = None, bulk: Bulk | None = None) -> None:
        verb = "Untag" if remove else "Tag"
        super().__init__(f"{verb} {len(ids):,} sample{'s' if len(ids) != 1 else ''} '{tag}'")
        self.db, self.ids, self.tag, self.changed, self.remove = db, list(ids), tag, changed, remove
        self.touched: list[int] = touched or []
        self.bulk = bulk if len(self.ids) > BULK_THRESHOLD else None
        self._already_done = touched is not None  # a bulk tag applied on a worker thread

    def redo(self) -> None:
        if self._already_done:
            self._already_done = False
            self.changed(self.ids)
        elif self.bulk is not None:
            def done(touched) -> None:
                self.touched = touched
                self.changed(self.ids)

            self.bulk.run(f"{self.text()}…", tasks.tag_ids, (self.ids, self.tag, self.remove), done)
        else:
            fn = curation.remove_tag if self.remove else curation.add_tag
            self.touched = fn(self.db, self.ids, self.tag)
            self.changed(self.ids)

    def undo(self) -> None:
        if self.bulk is not None:
            self.bulk.run(f"Undoing: {self.text()}…", tasks.tag_ids, (self.touched, self.tag, not self.remove),
                          lambda _r: self.changed(self.ids))
            return
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
