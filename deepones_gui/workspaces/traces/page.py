"""The Traces workspace: every design session's attempts across sessions, filtered, labelled, exported.

Queries and trace loads run on worker threads with their own store connection; only the latest
request's answer is shown (a filter change while one is running supersedes it).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from backend.traces import labels as lb
from backend.traces.index import TraceFilter
from deepones_gui.concurrent import LatestOnly, run_in_background
from deepones_gui.widgets.flow_layout import FlowLayout
from deepones_gui.workspaces.page_protocol import WorkspacePage
from deepones_gui.workspaces.traces import work
from deepones_gui.workspaces.traces.chart import CountsChart
from deepones_gui.workspaces.traces.filters import FilterBar
from deepones_gui.workspaces.traces.list_model import TraceTableModel
from deepones_gui.workspaces.traces.trace_view import TraceView

PAGE_SIZE = 500


class TracesPage(WorkspacePage):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.db_path = ctx.db_path
        self.label_set = lb.label_set(ctx.data_dir)
        self.filter = TraceFilter()
        self.total = 0
        # Only the newest query and trace load report back (older ones are cancelled and dropped).
        self._queries = LatestOnly()
        self._loads = LatestOnly()
        self.loading = False
        self.busy: set[str] = set()
        self.forked_session: int | None = None
        self.wanted: int | None = None   # the trace last asked for (shown once loaded)
        self._pending_open: tuple[int, int | None] | None = None   # from an "open_trace" broadcast

        self.filters = FilterBar()
        self.filters.changed.connect(self.set_filter)
        self.chart = CountsChart()
        self.chart.picked.connect(self.filters.select)
        self.model = TraceTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.open_trace(
            self.model.session_id(cur.row())))
        self.count_label = QLabel("")
        # Push buttons with menus size themselves for the text and the arrow (tool buttons drew it over the text).
        self.bulk = QPushButton("Label all shown")
        self.bulk.setToolTip("Label every trace the filter matches (one undoable action)")
        bulk_menu = QMenu(self.bulk)
        for label in self.label_set:
            bulk_menu.addAction(label.title, lambda name=label.name: self.bulk_label(name))
        self.bulk.setMenu(bulk_menu)
        self.export_button = QPushButton("Export")
        export_menu = QMenu(self.export_button)
        export_menu.addAction("This trace…", lambda: self.export(selected_only=True))
        export_menu.addAction("All shown traces…", lambda: self.export(selected_only=False))
        export_menu.addSeparator()
        export_menu.addAction("Confirmed fixes → training samples", self.to_samples)
        self.export_button.setMenu(export_menu)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(6, 6, 6, 6)
        ll.addWidget(self.filters)
        ll.addWidget(self.chart)
        ll.addWidget(self.table, 1)
        foot = QHBoxLayout()
        foot.addWidget(self.count_label, 1)
        foot.addWidget(self.bulk)
        foot.addWidget(self.export_button)
        ll.addLayout(foot)

        self.view = TraceView()
        self.view.attempt_selected.connect(lambda _a: self._update_buttons())
        self.view.other_trace_wanted.connect(self.ask_other_trace)
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("Run this attempt's code again as a sandboxed job (see Jobs)")
        self.rerun_button.clicked.connect(self.rerun_current)
        self.fork_button = QPushButton("Fork into Design")
        self.fork_button.setToolTip("A new design session from this attempt, opened in Design")
        self.fork_button.clicked.connect(self.fork_current)
        self.jobs_button = QPushButton("Open runs in Jobs")
        self.jobs_button.setToolTip("Show this trace's program runs in the Jobs workspace")
        self.jobs_button.clicked.connect(self.open_jobs)
        # The label keys, shown where they act (as Argilla does): "1 shape-mismatch", one button each.
        self.label_buttons: list[QPushButton] = []
        for label in self.label_set:
            button = QPushButton(f"{label.key}  {label.title}" if label.key else label.title)
            button.setToolTip(f"Label the attempt in view “{label.title}”" + (f" (key {label.key})" if label.key else ""))
            button.setStyleSheet(f"QPushButton {{ color: {label.color}; }}")
            button.clicked.connect(lambda _=False, name=label.name: self.label_current(name))
            self.label_buttons.append(button)
        self.note_button = QPushButton("Note… (N)")
        self.note_button.clicked.connect(self.add_note)
        self.undo_button = QPushButton("Undo label")
        self.undo_button.setToolTip("Undo the last label or note (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        # Shown once confirmed fixes became samples: train on them in one click.
        self.train_button = QPushButton("Train on these")
        self.train_button.setToolTip("Open Train with the trace-fix samples as its data")
        self.train_button.clicked.connect(self.train_on_fixes)
        self.train_button.hide()
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 6, 6, 6)
        rl.addWidget(self.view, 1)
        # Wraps onto a second line in a narrow pane instead of widening the window past the screen.
        actions = FlowLayout()
        for b in (self.rerun_button, self.fork_button, self.jobs_button, self.note_button, self.undo_button):
            actions.add(b)
        rl.addLayout(actions)
        labels_row = FlowLayout()
        labels_title = QLabel("Label (keys):")
        labels_title.setStyleSheet("color: palette(dark);")
        labels_row.add(labels_title)
        for button in self.label_buttons:
            labels_row.add(button)
        rl.addLayout(labels_row)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.train_button)
        rl.addLayout(status_row)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 760])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._shortcuts()
        ctx.broadcast.connect(self.on_broadcast)
        self._update_buttons()
        self.reload()

    # -- keyboard -----------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        # Number keys label the attempt in view; scoped to the trace view so typing digits in the
        # filter boxes still types digits.
        for label in self.label_set:
            if label.key:
                sc = QShortcut(QKeySequence(label.key), self.view)
                sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                sc.activated.connect(lambda name=label.name: self.label_current(name))
        note = QShortcut(QKeySequence("N"), self.view)
        note.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        note.activated.connect(self.add_note)
        undo = QShortcut(QKeySequence("Ctrl+Z"), self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo)
        for key, step in (("Ctrl+Down", 1), ("Ctrl+Up", -1)):   # next/previous trace from anywhere
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda step=step: self.move_selection(step))

    def move_selection(self, step: int) -> None:
        row = self.table.currentIndex().row() + step
        if 0 <= row < self.model.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)

    # -- list ---------------------------------------------------------------------------------
    def set_filter(self, flt: TraceFilter) -> None:
        self.filter = flt
        self.reload()

    def reload(self) -> None:
        self.loading = True
        self.count_label.setText("Loading…")
        self._queries.run(work.query_page, self.db_path, self.filter, PAGE_SIZE,
                          on_result=self._show_page, on_error=lambda exc, _tb: self._failed(exc))

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.count_label.setText(f"Could not query traces: {exc}")

    def _show_page(self, result: work.PageResult) -> None:
        self.loading = False
        page = result.page
        current = self.wanted
        pending, self._pending_open = self._pending_open, None
        self.model.set_rows(page.rows)
        self.total = page.total
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(1, min(self.table.columnWidth(1), 240))
        shown = len(page.rows)
        more = f" (showing the newest {shown:,})" if shown < page.total else ""
        self.count_label.setText(f"{page.total:,} trace(s){more}")
        self.filters.set_choices(result.facets, [(x.title, x.name) for x in self.label_set])
        self.chart.set_counts(page.error_counts, page.label_counts, {x.name: x.color for x in self.label_set})
        self.bulk.setEnabled(page.total > 0)
        self.export_button.setEnabled(page.total > 0)
        if pending is not None:
            row = self.model.row_of(pending[0])
            if row is not None:
                self.table.blockSignals(True)
                self.table.selectRow(row)
                self.table.blockSignals(False)
            self.open_trace(*pending)
            self._update_buttons()
            return
        row = self.model.row_of(current) if current is not None else None
        if row is None and page.rows:
            row = 0
        if row is not None:
            self.table.selectRow(row)
            if self.model.session_id(row) == current:
                self.open_trace(current)  # refresh labels shown in the view
        else:
            self.view.show_trace(None)
        self._update_buttons()

    # -- one trace ----------------------------------------------------------------------------
    def open_trace(self, session_id: int | None, select: int | None = None) -> None:
        if session_id is None:
            return
        self.wanted = session_id
        self.busy.add("load")
        self._loads.run(work.load, self.db_path, session_id,
                        on_result=lambda trace: self._show_trace(trace, select),
                        on_error=lambda exc, _tb: self._error(f"Could not open trace {session_id}: {exc}"),
                        on_done=lambda: self.busy.discard("load"))

    def _show_trace(self, trace, select: int | None) -> None:
        self.view.show_trace(trace, select)
        row = self.model.row_of(trace.session_id)
        if row is not None and self.table.currentIndex().row() != row:
            # Opened from elsewhere (a broadcast, the demo): mark it in the list without reopening.
            selection = self.table.selectionModel()
            selection.blockSignals(True)
            self.table.selectRow(row)
            selection.blockSignals(False)
        self._update_buttons()

    def ask_other_trace(self) -> None:
        sid, ok = QInputDialog.getInt(self, "Compare across traces", "Trace number (#) to compare with:",
                                      self.model.session_id(0) or 1, 1, 2**31 - 1)
        if ok:
            self.compare_with(sid)

    def compare_with(self, session_id: int, step_id: int | None = None) -> None:
        """Load another trace for the diff; diff against ``step_id`` (default: its last program)."""
        def shown(trace) -> None:
            self.view.add_other_trace(trace)
            target = step_id or next((a.id for a in reversed(trace.attempts) if a.code), None)
            if target is not None:
                self.view.tabs.setCurrentWidget(self.view.diff_tab)
                self.view.diff_with(trace.session_id, target)

        run_in_background(work.load, self.db_path, session_id, on_result=shown,
                          on_error=lambda exc, _tb: self._error(str(exc)))

    def _update_buttons(self) -> None:
        a = self.view.current_attempt()
        has_code = bool(a and a.code and a.is_run)
        self.rerun_button.setEnabled(has_code)
        self.fork_button.setEnabled(a is not None)
        self.jobs_button.setEnabled(bool(self.view.trace and any(x.job_id for x in self.view.trace.attempts)))
        self.note_button.setEnabled(a is not None)
        for button in self.label_buttons:
            button.setEnabled(a is not None)   # a label needs an attempt in view
        self.undo_button.setEnabled(lb.can_undo(self.ctx.db))

    def _error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b91c1c'>{message}</span>")

    def _say(self, message: str) -> None:
        self.status.setText(message)

    # -- labels -------------------------------------------------------------------------------
    def label_current(self, label: str) -> None:
        a, trace = self.view.current_attempt(), self.view.trace
        if a is None or trace is None:
            return
        # One small indexed write (a few ms): on the GUI's own connection, no thread hop.
        lb.add_labels(self.ctx.db, [(trace.session_id, a.id)], label, known=[x.name for x in self.label_set])
        self._say(f"Labelled {a.title} “{label}” (Ctrl+Z to undo).")
        self._update_buttons()
        self.reload()

    def add_note(self) -> None:
        a, trace = self.view.current_attempt(), self.view.trace
        if a is None or trace is None:
            return
        text, ok = QInputDialog.getMultiLineText(self, "Note", f"Note on {a.title} of trace #{trace.session_id}:")
        if ok and text.strip():
            lb.add_note(self.ctx.db, trace.session_id, a.id, text)
            self._say(f"Note added to {a.title}.")
            self.open_trace(trace.session_id, a.id)

    def undo(self) -> None:
        done = lb.undo(self.ctx.db)
        self._say("Nothing to undo." if done is None else
                  f"Undid {done['action']} {done['label'] or ''} on {done['count']} target(s).")
        self.reload()

    def bulk_label(self, label: str) -> None:
        if self.total == 0:
            return
        answer = QMessageBox.question(self, "Label traces", f"Label all {self.total:,} trace(s) matching the"
                                      f" filter “{label}”? (One action: Ctrl+Z undoes it.)")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.bulk_label_now(label)

    def bulk_label_now(self, label: str) -> None:
        run_in_background(work.bulk_label, self.db_path, self.filter, label,
                          on_result=lambda n: (self._say(f"Labelled {n:,} trace(s) “{label}”."), self.reload()),
                          on_error=lambda exc, _tb: self._error(str(exc)))

    # -- actions ------------------------------------------------------------------------------
    def rerun_current(self) -> None:
        a = self.view.current_attempt()
        if a is None:
            return
        self.rerun_button.setEnabled(False)
        run_in_background(work.submit_rerun, self.db_path, a.id, Path(self.ctx.data_dir),
                          on_result=lambda job_id: self._say(
                              f"Re-running {a.title} as job {job_id} (Open runs in Jobs to follow it)."),
                          on_error=lambda exc, _tb: self._error(f"Could not start the re-run: {exc}"),
                          on_done=self._update_buttons)

    def fork_current(self) -> None:
        a = self.view.current_attempt()
        if a is None:
            return
        self.fork_button.setEnabled(False)
        run_in_background(work.fork, self.db_path, a.id, on_result=self._forked,
                          on_error=lambda exc, _tb: self._error(f"Could not fork: {exc}"),
                          on_done=self._update_buttons)

    def _forked(self, new: int) -> None:
        self._say(f"Forked into Design as session #{new}.")
        self.forked_session = new
        self.ctx.broadcast.emit("open_design_session", {"session_id": new})
        self._show_workspace("design")
        self.reload()

    def open_jobs(self) -> None:
        trace = self.view.trace
        if trace is None:
            return
        jobs = [a.job_id for a in trace.attempts if a.job_id]
        self.ctx.broadcast.emit("show_jobs", {"job_ids": jobs, "origin": f"trace:{trace.session_id}"})
        self._show_workspace("jobs")

    def _show_workspace(self, name: str) -> None:
        self.ctx.show_workspace(name)

    def export(self, *, selected_only: bool) -> None:
        trace = self.view.trace
        if selected_only and trace is None:
            return
        kinds = ("HTML page (*.html);;Trace JSON (*.json);;JSON lines (*.jsonl)" if selected_only
                 else "HTML page (*.html);;JSON lines (*.jsonl)")
        name = f"trace-{trace.session_id}.html" if selected_only and trace else "traces.html"
        path, _ = QFileDialog.getSaveFileName(self, "Export traces", str(Path.home() / name), kinds)
        if path:
            self.export_to(Path(path), [trace.session_id] if selected_only and trace else None)

    def export_to(self, out: Path, session_ids: list[int] | None) -> None:
        self._say(f"Exporting to {out}…")
        run_in_background(work.export, self.db_path, self.filter, session_ids, out,
                          on_result=lambda n: self._say(f"Exported {n} trace(s) to {out}."),
                          on_error=lambda exc, _tb: self._error(f"Export failed: {exc}"))

    def to_samples(self) -> None:
        self._say("Turning confirmed fixes into training samples…")
        run_in_background(work.to_samples, self.db_path, self.filter, on_result=self._samples_made,
                          on_error=lambda exc, _tb: self._error(str(exc)))

    def _samples_made(self, r: dict) -> None:
        from backend.traces.samples import DEFAULT_DATASET

        self._say(f"Created {r['created']} debugging sample(s) in the Data store (dataset “{DEFAULT_DATASET}”); "
                  f"{r['skipped']} already existed.")
        self.train_button.setVisible(r["created"] + r["skipped"] > 0)

    def train_on_fixes(self) -> None:
        from backend.traces.samples import DEFAULT_DATASET

        self.ctx.broadcast.emit("train_on", {"filter": f"dataset={DEFAULT_DATASET}",
                                             "description": f"trace fixes (dataset {DEFAULT_DATASET})"})

    # -- cross-workspace ----------------------------------------------------------------------
    def on_broadcast(self, name: str, payload) -> None:
        if name != "open_trace" or not isinstance(payload, dict):
            return
        sid = payload.get("session_id")
        if isinstance(sid, int):
            # Shown once the unfiltered list is back (opening now would be superseded by it).
            self._pending_open = (sid, payload.get("step_id"))
            self.filters.reset()
            self._show_workspace("traces")

    def ready(self) -> bool:
        return not self.loading and not self.busy

    def shutdown(self) -> None:
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)
