"""Curation on the Data page: review, tags, notes, edits and bulk changes, all through the undo stack
(bulk ones applied, undone and redone on worker threads).

A part the page owns, not a mixin: it is given the session, the undo stack and the progress strip,
is told which samples to act on, and reports back with signals (``changed`` after every write, so
the page refreshes what shows them).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from backend.datasets import curation
from backend.datasets.query import SampleFilter
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.commands import Bulk, EditFieldCommand, SetStatusCommand, TagCommand
from deepones_gui.workspaces.data.detail import EditDialog
from deepones_gui.workspaces.data.session import DataSession
from deepones_gui.workspaces.data.transfer_strip import TransferStrip

# Above this many matching samples, "mark all" asks first.
CONFIRM_BULK_OVER = 1000


class Curation(QObject):
    changed = Signal(list)        # sample ids just written (by a command, its undo or its redo)
    reloadNeeded = Signal()       # a change over the whole filter: the rows are read again
    busy = Signal(str)            # a bulk change started: what it does, for the count line

    def __init__(self, session: DataSession, undo_stack: QUndoStack, transfers: TransferStrip,
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.session = session
        self.undo_stack = undo_stack
        self.transfers = transfers
        self.dialog_parent = dialog_parent
        self.bulk = Bulk(session.db_path, self.run_bulk)

    def _written(self, ids) -> None:
        """Called by every undo command after it writes."""
        self.session.mark_seen()
        self.changed.emit(list(ids))

    def run_bulk(self, label: str, task, args: tuple, done) -> None:
        """A bulk redo/undo on a worker thread; undo/redo wait for it (the stack stays consistent)."""
        self.session.bulk_running = True
        self.busy.emit(label)

        def finished() -> None:
            self.session.bulk_running = False

        self.transfers.run_task(label, task, (self.session.db_path, *args), on_result=done, on_done=finished)

    def undo(self) -> None:
        if not self.session.bulk_running:
            self.undo_stack.undo()

    def redo(self) -> None:
        if not self.session.bulk_running:
            self.undo_stack.redo()

    def review(self, ids: list[int], status: str) -> None:
        if ids:
            self.undo_stack.push(SetStatusCommand(self.session.db, ids, status, self._written, bulk=self.bulk))

    def ask_tag(self, ids: list[int]) -> None:
        if not ids:
            return
        tag, ok = QInputDialog.getText(self.dialog_parent, "Tag",
                                       f"Tag for {len(ids):,} sample(s) (prefix with - to remove):")
        if ok and tag.strip():
            self.tag(ids, tag.strip())

    def tag(self, ids: list[int], tag: str) -> None:
        remove = tag.startswith("-")
        self.undo_stack.push(TagCommand(self.session.db, ids, tag.lstrip("-").strip(), self._written,
                                        remove=remove, bulk=self.bulk))

    def apply_edit(self, sample_id: int, field: str, value: str) -> bool:
        try:
            old = self.session.edit_field(sample_id, field, value)
        except curation.CurationError as exc:
            QMessageBox.warning(self.dialog_parent, "Edit not applied", str(exc))
            return False
        if old != value:
            self.undo_stack.push(EditFieldCommand(self.session.db, sample_id, field, value, self._written, old))
        return True

    def edit_sample(self, sample_id: int | None) -> None:
        sample = self.session.sample(sample_id) if sample_id is not None else None
        if sample is None:
            return
        dialog = EditDialog(sample, self.dialog_parent)
        if dialog.exec():
            changes = dialog.changes()
            if changes:
                self.undo_stack.beginMacro(f"Edit #{sample_id}")
                for field, value in changes.items():
                    if not self.apply_edit(sample_id, field, value):
                        break
                self.undo_stack.endMacro()

    def review_matching(self, flt: SampleFilter, n: int, status: str) -> None:
        """Mark every sample matching ``flt`` (``n`` of them) on a worker thread; undoable."""
        if n > CONFIRM_BULK_OVER and QMessageBox.question(
                self.dialog_parent, "Bulk review",
                f"Mark all {n:,} matching samples {status}? (Undo puts them back.)") != QMessageBox.StandardButton.Yes:
            return
        self.busy.emit(f"Marking {n:,} samples {status}…")

        def done(previous) -> None:
            ids = [i for arr in previous.values() for i in arr]
            self.undo_stack.push(SetStatusCommand(self.session.db, ids, status, self._written, previous=previous,
                                                  bulk=self.bulk))
            self.reloadNeeded.emit()

        run_in_background(tasks.status_matching, self.session.db_path, flt, status, on_result=done,
                          on_error=lambda exc, _tb: QMessageBox.warning(self.dialog_parent, "Bulk review failed",
                                                                        str(exc)))

    def tag_matching(self, flt: SampleFilter, n: int) -> None:
        tag, ok = QInputDialog.getText(self.dialog_parent, "Tag all matching", f"Tag for all {n:,} matching samples:")
        if ok and tag.strip():
            self.start_tag_matching(flt, tag.strip())

    def start_tag_matching(self, flt: SampleFilter, tag: str):
        """Tag everything matching ``flt`` on a worker thread; undoable like any tag."""
        def done(added: list[int]) -> None:
            self.undo_stack.push(TagCommand(self.session.db, added, tag, self._written, touched=added,
                                            bulk=self.bulk))
            self.reloadNeeded.emit()

        return run_in_background(tasks.tag_matching, self.session.db_path, flt, tag, on_result=done,
                                 on_error=lambda exc, _tb: QMessageBox.warning(self.dialog_parent, "Tagging failed",
                                                                               str(exc)))
