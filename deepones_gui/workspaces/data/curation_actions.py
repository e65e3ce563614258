"""Curation on the Data page: review keys, tags, notes, edits and bulk changes, all through the
undo stack (bulk ones applied, undone and redone on worker threads)."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox

from backend.datasets import curation, query
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.commands import (
    BULK_THRESHOLD,
    EditFieldCommand,
    SetStatusCommand,
    TagCommand,
)
from deepones_gui.workspaces.data.detail import EditDialog


class CurationActions:
    """Mixed into DataPage (which provides db, db_path, undo_stack, model, table, detail, transfers)."""

    def _changed(self, ids) -> None:
        """Called by every undo command after it writes: refresh rows, detail, stats and facets."""
        if len(ids) > BULK_THRESHOLD:
            self.model.reload()  # cheaper than matching millions of ids against the cached pages
        else:
            self.model.refresh_ids(ids)
        current = self._current_id()
        if current is not None and (len(ids) > BULK_THRESHOLD or current in set(ids)):
            self.show_detail(current)
        self._data_version = query.data_version(self.db)
        self._stats_timer.start()

    def run_bulk(self, label: str, task, args: tuple, done) -> None:
        """A bulk redo/undo on a worker thread; undo/redo wait for it (the stack stays consistent)."""
        self._bulk_running = True
        self.toolbar.count_label.setText(label)

        def finished() -> None:
            self._bulk_running = False

        self.transfers.run_task(label, task, (self.db_path, *args), on_result=done, on_done=finished)

    def undo(self) -> None:
        if not getattr(self, "_bulk_running", False):
            self.undo_stack.undo()

    def redo(self) -> None:
        if not getattr(self, "_bulk_running", False):
            self.undo_stack.redo()

    def review(self, status: str) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        self.undo_stack.push(SetStatusCommand(self.db, ids, status, self._changed, bulk=self.bulk))
        if len(ids) == 1:
            self.step(1)  # keyboard review flows down the list

    def ask_tag(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        tag, ok = QInputDialog.getText(self, "Tag", f"Tag for {len(ids):,} sample(s) (prefix with - to remove):")
        if ok and tag.strip():
            self.tag(ids, tag.strip())

    def tag(self, ids: list[int], tag: str) -> None:
        remove = tag.startswith("-")
        self.undo_stack.push(TagCommand(self.db, ids, tag.lstrip("-").strip(), self._changed, remove=remove,
                                        bulk=self.bulk))

    def focus_note(self) -> None:
        self.detail.note.setFocus()
        self.detail.note.selectAll()

    def save_note(self, note: str) -> None:
        sid = self._current_id()
        if sid is not None:
            self.apply_edit(sid, "note", note)
            self.table.setFocus()

    def apply_edit(self, sample_id: int, field: str, value: str) -> bool:
        try:
            old = curation.edit_field(self.db, sample_id, field, value)
        except curation.CurationError as exc:
            QMessageBox.warning(self, "Edit not applied", str(exc))
            return False
        if old != value:
            self.undo_stack.push(EditFieldCommand(self.db, sample_id, field, value, self._changed, old))
        return True

    def edit_sample(self) -> None:
        sid = self._current_id()
        sample = query.get_sample(self.db, sid) if sid is not None else None
        if sample is None:
            return
        dialog = EditDialog(sample, self)
        if dialog.exec():
            changes = dialog.changes()
            if changes:
                self.undo_stack.beginMacro(f"Edit #{sid}")
                for field, value in changes.items():
                    if not self.apply_edit(sid, field, value):
                        break
                self.undo_stack.endMacro()

    def review_matching(self, status: str) -> None:
        flt = self.current_filter()
        n = self.model.rowCount()
        if n > 1000 and QMessageBox.question(
                self, "Bulk review", f"Mark all {n:,} matching samples {status}? (Undo puts them back.)") \
                != QMessageBox.StandardButton.Yes:
            return
        self.toolbar.count_label.setText(f"Marking {n:,} samples {status}…")

        def done(previous) -> None:
            ids = [i for arr in previous.values() for i in arr]
            self.undo_stack.push(SetStatusCommand(self.db, ids, status, self._changed, previous=previous,
                                                  bulk=self.bulk))
            self.model.reload()

        run_in_background(tasks.status_matching, self.db_path, flt, status, on_result=done,
                          on_error=lambda exc, _tb: QMessageBox.warning(self, "Bulk review failed", str(exc)))

    def tag_matching(self) -> None:
        tag, ok = QInputDialog.getText(self, "Tag all matching", f"Tag for all {self.model.rowCount():,} matching samples:")
        if ok and tag.strip():
            self.start_tag_matching(tag.strip())

    def start_tag_matching(self, tag: str):
        """Tag everything matching the filter on a worker thread; undoable like any tag."""
        def done(added: list[int]) -> None:
            self.undo_stack.push(TagCommand(self.db, added, tag, self._changed, touched=added, bulk=self.bulk))
            self.model.reload()

        return run_in_background(tasks.tag_matching, self.db_path, self.current_filter(), tag, on_result=done,
                                 on_error=lambda exc, _tb: QMessageBox.warning(self, "Tagging failed", str(exc)))
