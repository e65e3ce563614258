"""The strip above the table that runs imports and exports off the GUI thread: progress with
rate and ETA, Cancel, a summary, and the rejection report."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from backend.datasets.query import SampleFilter
from deepones_gui.concurrent import BackgroundTask, run_in_background
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.dialogs import ImportReportDialog

SUMMARY_VISIBLE_MS = 8000


class TransferStrip(QWidget):
    importFinished = Signal()   # after success, failure or cancel: the page reloads its view
    indexProgress = Signal(float, str)
    indexFinished = Signal()    # the search index caught up (or indexing was cancelled)

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.import_task: BackgroundTask | None = None
        self.export_task: BackgroundTask | None = None
        self.index_task: BackgroundTask | None = None
        self.last_report: dict | None = None
        # Imports asked for while one runs (a drop during the demo import): started in turn.
        self.queued: list[tuple[list[str] | None, bool, str, str | None]] = []
        self._summary = ""           # the last import's summary line, kept while indexing follows it
        self.index_failed = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 2)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.label = QLabel()
        self.report_button = QPushButton("Details…")
        self.report_button.clicked.connect(self.show_report)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_import)
        row.addWidget(self.progress)
        row.addWidget(self.label, 1)
        row.addWidget(self.report_button)
        row.addWidget(self.cancel_button)
        self.setVisible(False)
        # A finished import's summary stays a while, then gets out of the way (unless there is a report).
        self._hide = QTimer(self, singleShot=True, interval=SUMMARY_VISIBLE_MS)
        self._hide.timeout.connect(lambda: self.busy or self.report_button.isVisible() or self.setVisible(False))

    @property
    def busy(self) -> bool:
        return self.import_task is not None or self.export_task is not None or self.index_task is not None

    def _begin(self, text: str, cancellable: bool) -> None:
        self._summary = ""
        self._hide.stop()
        self.setVisible(True)
        self.report_button.setVisible(False)
        self.cancel_button.setVisible(cancellable)
        self.progress.setValue(0)
        self.label.setText(text)

    def _progress(self, frac: float, text: str) -> None:
        self.progress.setValue(int(frac * 1000))
        self.label.setText(text)

    # -- import ------------------------------------------------------------------------------
    def start_import(self, paths: list[str] | None, *, demo: bool = False, fmt: str = "auto",
                     dataset: str | None = None) -> bool:
        if self.import_task is not None:
            self.queued.append((paths, demo, fmt, dataset))
            n = sum(len(p or []) or 1 for p, *_ in self.queued)
            self.label.setText(f"Queued: {n} more file{'s' if n != 1 else ''} will import after this one.")
            return True
        self._begin("Importing the demo set…" if demo else "Starting import…", cancellable=True)
        self.import_task = run_in_background(
            tasks.run_import, self.db_path, paths, demo, fmt, dataset, own_thread=True,
            on_progress=self._progress, on_result=self._import_done,
            on_cancelled=lambda: self._import_done(None), on_error=self._import_failed,
            on_done=self._import_finished, owner=self)
        return True

    def _import_done(self, report: dict | None) -> None:
        if report is None:
            self.label.setText("Import cancelled; every completed batch is kept. Import again to finish.")
            return
        self.last_report = report
        bits = [f"{report['imported']:,} imported", f"{report['duplicates']:,} duplicates skipped",
                f"{report['rejected_total']:,} rejected"]
        if report["errors"]:
            bits.append(f"{len(report['errors'])} file(s) unreadable: {report['errors'][0]}")
        if report.get("cancelled"):
            bits.append("cancelled (completed batches kept)")
        bits += report.get("notices", [])
        self._summary = "Import finished: " + " · ".join(bits)
        self.label.setText(self._summary)
        self.report_button.setVisible(bool(report["rejected_total"] or report["errors"]))
        self.progress.setValue(1000)

    def _import_failed(self, exc: BaseException, _tb: str) -> None:
        self.label.setText(f"Import failed: {exc}. Completed batches are kept.")

    def _import_finished(self) -> None:
        self.import_task = None
        self.cancel_button.setVisible(False)
        self._hide.start()
        self.importFinished.emit()
        if self.queued:
            paths, demo, fmt, dataset = self.queued.pop(0)
            self.start_import(paths, demo=demo, fmt=fmt, dataset=dataset)

    def cancel_import(self) -> None:
        if self.import_task is not None:
            self.import_task.cancel()
            self.label.setText("Cancelling after the current batch…")

    def show_report(self) -> None:
        if self.last_report:
            ImportReportDialog(self.last_report, self).exec()

    # -- export ------------------------------------------------------------------------------
    def start_export(self, flt: SampleFilter, choice: dict) -> None:
        self._begin(f"Exporting to {choice['path']}…", cancellable=False)

        def finished() -> None:
            self.export_task = None
            self._hide.start()

        self.export_task = run_in_background(
            tasks.run_export, self.db_path, flt, choice, own_thread=True, on_progress=self._progress,
            on_result=self._export_done,
            on_error=lambda exc, _tb: self.label.setText(f"Export failed: {exc}"),
            on_done=finished, owner=self)

    def _export_done(self, message: str) -> None:
        # A small export reports no progress on the way: the bar must still say it is done, not "0%".
        self.progress.setValue(1000)
        self.label.setText(message)

    # -- bulk curation (undo / redo of millions of rows) ---------------------------------------
    def run_task(self, label: str, task, args: tuple, *, on_result, on_done) -> None:
        """Any long backend task with progress in the strip (not cancellable: it is one transaction)."""
        self._begin(label, cancellable=False)

        def done() -> None:
            on_done()
            if not self.busy:
                self._hide.start()

        def result(value) -> None:
            self.label.setText(label.rstrip("…") + ": done")
            self.progress.setValue(1000)
            on_result(value)

        run_in_background(task, *args, on_progress=self._progress, on_result=result,
                          on_error=lambda exc, _tb: self.label.setText(f"{label.rstrip('…')} failed: {exc}"),
                          on_done=done, owner=self)

    # -- search index, built behind browsable rows -------------------------------------------
    def start_index(self) -> bool:
        """Index rows not yet searchable; the table is usable meanwhile. False if already running.

        Its progress follows an import's summary on the same line, so that summary stays readable.
        """
        if self.index_task is not None:
            return False
        summary = self._summary if self.isVisible() and self.import_task is None else ""
        if self.import_task is None and self.export_task is None:
            self._hide.stop()
            self.setVisible(True)
            self.cancel_button.setVisible(False)

        def show(text: str) -> None:
            if self.import_task is None and self.export_task is None:
                self.label.setText(f"{summary} · {text}" if summary else text)

        def progress(frac: float, text: str) -> None:
            if self.import_task is None and self.export_task is None:
                self.progress.setValue(int(frac * 1000))
            show(text + " · rows are browsable meanwhile")
            self.indexProgress.emit(frac, text)

        def finished() -> None:
            self.index_task = None
            if not self.busy:
                self._hide.start()
            self.indexFinished.emit()

        self.index_task = run_in_background(
            tasks.run_index, self.db_path, own_thread=True, on_progress=progress,
            on_result=lambda n: n and show(f"search index complete ({n:,} samples added)"),
            on_error=self._index_failed(show),
            on_done=finished, owner=self)
        return True

    def _index_failed(self, show):
        def failed(exc: BaseException, _tb: str) -> None:
            self.index_failed = True   # not retried automatically in this session (no retry loop)
            show(f"indexing stopped: {exc}; it resumes on the next start")
        return failed

    def shutdown(self) -> None:
        for task in (self.import_task, self.export_task, self.index_task):
            if task is not None:
                task.cancel()
