"""The Jobs workspace: the job list, live metric charts, the job's output, and the GPU monitor.

Jobs are detached supervisor processes (:mod:`backend.jobs`); this page only watches their files
and the store. On start it re-attaches to jobs still running and marks vanished ones ``lost``
(``records.sync_jobs``), then polls once a second off the GUI thread.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.jobs import records
from backend.jobs.reconcile import reconcile_jobs
from backend.jobs.spec import FINAL_STATUSES, JobStatus
from backend.jobs.status import job_confinement
from backend.store import connection
from deepones_gui.concurrent import run_in_background
from deepones_gui.widgets.job_follower import JobFollower
from deepones_gui.widgets.metric_chart import MetricChart
from deepones_gui.workspaces.jobs.gpu_panel import GpuPanel
from deepones_gui.workspaces.jobs.logview import LogView
from deepones_gui.workspaces.page_protocol import WorkspacePage

POLL_MS = 1000
COLUMNS = ["Job", "Status", "Duration", "Reason", "Best metric", "Score"]
STATUS_COLOURS = {"running": "#1565c0", "queued": "#777777", "succeeded": "#2e7d32", "failed": "#c62828",
                  "timeout": "#ef6c00", "memory": "#ef6c00", "cancelled": "#6d4c41", "lost": "#9e9e9e"}


def load_jobs(db_path: Path, *, progress, partial, cancel) -> list[dict]:
    """Re-attach/sync (finished jobs' metrics parsed in a child), then the rows with their best metric."""
    with connection(db_path) as db:
        reconcile_jobs(db, db_path)
        rows = records.list_jobs(db, 300)
        for row in rows:
            best = records.best_metric(db, row["id"]) if row["status"] in FINAL_STATUSES else None
            row["best"] = f"{best[0]} {best[1]:.4g}" if best else ""
        return rows


def format_duration(row: dict) -> str:
    if row.get("wall_s") is not None:
        secs = float(row["wall_s"])
    elif row.get("started_at"):
        secs = time.time() - float(row["started_at"])
    else:
        return ""
    if secs < 60:
        return f"{secs:.1f} s"
    if secs < 3600:
        return f"{int(secs // 60)} min {int(secs % 60):02d} s"
    return f"{int(secs // 3600)} h {int(secs % 3600 // 60):02d} min"


class JobsPage(WorkspacePage):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.rows: dict[str, dict] = {}
        self.known_status: dict[str, str] = {}
        self._loading = False
        self._first_load_done = False
        self._pending_select: str | None = None
        self._wanted: set[str] = set()   # jobs another workspace asked to show ("show_jobs")
        # Once built, the page hears broadcasts itself (the window delivers one only to the page it
        # builds for it): without this, Traces' "Open runs in Jobs" did nothing when Jobs was open.
        ctx.broadcast.connect(self.on_broadcast)
        self._text_follower: JobFollower | None = None
        self._log_job: str | None = None
        self._tray: QSystemTrayIcon | None = None
        self.notifications: list[str] = []

        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 4)
        bar = QHBoxLayout()
        title = QLabel("<b style='font-size:13pt'>Jobs</b>")
        bar.addWidget(title)
        bar.addSpacing(12)
        self.demo_btn = QPushButton("Run demo training")
        self.demo_btn.setToolTip("Train a small CNN on scikit-learn's digits with torch on the CPU (about a minute)")
        self.demo_btn.clicked.connect(lambda: self.start_demo(quick=False))
        self.run_btn = QPushButton("Run program…")
        self.run_btn.setToolTip("Run a Python file as a sandboxed job (Ctrl+R)")
        self.run_btn.clicked.connect(self.run_program_dialog)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the selected running jobs (SIGTERM, then SIGKILL after a grace)")
        self.cancel_btn.clicked.connect(self.cancel_selected)
        self.rerun_btn = QPushButton("Re-run")
        self.rerun_btn.setToolTip("Start the selected job again with the same program, files and limits")
        self.rerun_btn.clicked.connect(self.rerun_selected)
        self.folder_btn = QPushButton("Open folder")
        self.folder_btn.setToolTip("Open the job dir: logs, status.json, metric.log, the program")
        self.folder_btn.clicked.connect(self.open_folder)
        for b in (self.demo_btn, self.run_btn):
            bar.addWidget(b)
        bar.addSpacing(16)
        for b in (self.cancel_btn, self.rerun_btn, self.folder_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        self.summary = QLabel("")
        self.summary.setStyleSheet("color:#555;")
        bar.addWidget(self.summary)
        root.addLayout(bar)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 150)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # reasons can be long: the tooltip has all
        header.setMinimumSectionSize(50)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.setToolTip("Select several jobs to overlay their metrics")

        self.chart = MetricChart()
        self.out_view = LogView()
        self.err_view = LogView(error_stream=True)
        self.gpu_panel = GpuPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.out_view, "Output")
        self.tabs.addTab(self.err_view, "Errors")
        self.tabs.addTab(self.gpu_panel, "GPU")
        self.detail = QLabel("Select a job to see its charts and output.")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setStyleSheet("color:#444; padding:4px 2px;")

        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.table, 1)
        left_lay.addWidget(self.detail)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.chart)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([480, 300])
        right.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([570, 610])
        root.addWidget(self.splitter, 1)

        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.run_program_dialog)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=lambda: self.out_view.search.setFocus())
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self._update_buttons()
        QTimer.singleShot(0, self.reload)

    # -- job list ----------------------------------------------------------------------------
    def reload(self) -> None:
        if self._loading:
            return
        self._loading = True
        run_in_background(load_jobs, self.ctx.db_path, on_result=self._show_rows,
                          on_error=lambda exc, tb: self.summary.setText(f"Could not read jobs: {exc}"),
                          on_done=self._loaded)

    def _loaded(self) -> None:
        self._loading = False

    def _show_rows(self, rows: list[dict]) -> None:
        for row in rows:
            before = self.known_status.get(row["id"])
            if self._first_load_done and before not in (None, *FINAL_STATUSES) and row["status"] in FINAL_STATUSES:
                self.notify_finished(row)
            self.known_status[row["id"]] = row["status"]
        self._first_load_done = True
        selected = set(self.selected_ids())
        self.rows = {r["id"]: r for r in rows}
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            # "exited with code 0" says nothing the status does not: reasons are shown when they matter.
            reason = "" if row["status"] == JobStatus.SUCCEEDED else (row.get("reason") or "")
            cells = [row["name"] or row["id"], row["status"], format_duration(row), reason,
                     row.get("best", ""), "" if row["score"] is None else f"{row['score']:.4g}"]
            for col, text in enumerate(cells):
                item = self.table.item(i, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(i, col, item)
                if item.text() != text:
                    item.setText(text)
                item.setData(Qt.ItemDataRole.UserRole, row["id"])
                if col == 0:
                    item.setToolTip(f"{row['id']}\n{row['workdir']}")
                elif col == 3:
                    item.setToolTip(text)
            self.table.item(i, 1).setForeground(QColor(STATUS_COLOURS.get(row["status"], "#000")))
        # Rows shift when a job is added: restore the selection by job id, not by row.
        wanted = self._wanted & set(self.rows)
        want = wanted or ({self._pending_select} if self._pending_select in self.rows else selected)
        model = self.table.selectionModel()
        model.blockSignals(True)
        self.table.clearSelection()
        flags = model.SelectionFlag.Select | model.SelectionFlag.Rows
        for i, row in enumerate(rows):
            if row["id"] in want:
                model.select(self.table.model().index(i, 0), flags)
        model.blockSignals(False)
        self.table.blockSignals(False)
        self.table.viewport().update()
        running = sum(1 for r in rows if r["status"] == JobStatus.RUNNING)
        queued = sum(1 for r in rows if r["status"] == JobStatus.QUEUED)
        self.summary.setText(f"{running} running · {queued} queued · {len(rows) - running - queued} finished")
        if wanted:
            self._wanted = set()
            self._selection_changed()
        elif self._pending_select in self.rows:
            self._pending_select = None
            self._selection_changed()
        elif not selected and rows and not self.chart.job_ids() and not self.chart.followers:
            self.table.selectRow(0)
        self._update_detail()
        self._update_buttons()

    def on_broadcast(self, name: str, payload) -> None:
        """``show_jobs`` (e.g. Traces' "Open runs in Jobs"): select those jobs, charts overlaid."""
        if name == "show_jobs" and isinstance(payload, dict):
            self._wanted = {j for j in payload.get("job_ids", []) if j}
            self.reload()

    def selected_ids(self) -> list[str]:
        ids = []
        for index in self.table.selectionModel().selectedRows():
            job_id = self.table.item(index.row(), 0).data(Qt.ItemDataRole.UserRole)
            if job_id:
                ids.append(job_id)
        return ids

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        self.chart.clear()
        for job_id in ids:
            row = self.rows.get(job_id)
            if row is None:
                continue
            self.chart.set_job_label(job_id, row["name"] or job_id)
        for job_id in ids:
            row = self.rows.get(job_id)
            if row is not None:
                self.chart.show_job(job_id, row["workdir"], follow=row["status"] not in FINAL_STATUSES)
        self._show_log(ids[0] if ids else None)
        self._update_detail()
        self._update_buttons()

    def _show_log(self, job_id: str | None) -> None:
        if job_id == self._log_job:
            return
        if self._text_follower is not None:
            self._text_follower.stop()
            self._text_follower = None
        self._log_job = job_id
        self.out_view.clear()
        self.err_view.clear()
        row = self.rows.get(job_id) if job_id else None
        self.gpu_panel.show_job(Path(row["workdir"]) if row else None)
        if row is None:
            return
        follower = JobFollower(job_id, Path(row["workdir"]), self, with_text=True, with_points=False)
        follower.text.connect(self._on_text)
        follower.finished.connect(self._on_text_done)
        self._text_follower = follower
        follower.start(follow=row["status"] not in FINAL_STATUSES)

    def _on_text(self, job_id: str, stream: str, text: str) -> None:
        follower = self.sender()
        if job_id == self._log_job:
            (self.out_view if stream == "stdout" else self.err_view).append_text(text)
        if not isinstance(follower, JobFollower):
            follower = self._text_follower
        if follower is not None:
            follower.ack()

    def _on_text_done(self, job_id: str) -> None:
        if job_id == self._log_job and self.err_view.has_traceback():
            self.tabs.setTabText(1, "Errors ⚠")
        elif job_id == self._log_job:
            self.tabs.setTabText(1, "Errors")

    def _update_detail(self) -> None:
        ids = self.selected_ids()
        if not ids:
            self.detail.setText("Select a job to see its charts and output; select several to compare them.")
            return
        row = self.rows.get(ids[0])
        if row is None:
            return
        extra = f" · {len(ids)} jobs compared" if len(ids) > 1 else ""
        peak = "" if row.get("peak_rss_mb") is None else f" · peak memory {row['peak_rss_mb']:.0f} MB"
        # Which protections applied (Landlock, namespaces...) is part of the job's record: say it.
        confinement = html.escape(job_confinement(row["workdir"])) if row.get("workdir") else ""
        self.detail.setText(f"<b>{row['name'] or row['id']}</b> · {row['status']} · {format_duration(row)}{peak}"
                            f"{extra}<br><span style='color:#777'>{row['id']} · {row['workdir']}</span>"
                            f"<br><span style='color:#777'>Sandbox: {confinement}</span>")

    def _update_buttons(self) -> None:
        ids = self.selected_ids()
        statuses = [self.rows[i]["status"] for i in ids if i in self.rows]
        self.cancel_btn.setEnabled(any(s not in FINAL_STATUSES for s in statuses))
        # Re-running a job that still runs would start a twin: only finished jobs can be re-run.
        self.rerun_btn.setEnabled(bool(statuses) and all(s in FINAL_STATUSES for s in statuses))
        self.folder_btn.setEnabled(len(statuses) == 1)

    # -- actions -----------------------------------------------------------------------------
    def start_spec(self, spec) -> None:
        from backend.jobs.executors import get_executor

        def start(*, progress, partial, cancel):
            with connection(self.ctx.db_path) as db:
                return get_executor("local", root=self.ctx.data_dir, db=db).submit(spec).job_id

        def started(job_id: str) -> None:
            self._pending_select = job_id
            self.table.clearSelection()
            self.reload()

        run_in_background(start, on_result=started, on_error=lambda exc, tb: self._error(f"The job did not start: {exc}"))

    def start_demo(self, quick: bool = False) -> None:
        from backend.jobs.demo import demo_spec

        self.start_spec(demo_spec(quick=quick))

    def run_program_dialog(self) -> None:
        from deepones_gui.workspaces.jobs.run_dialog import RunDialog

        dialog = RunDialog(self.ctx, self)
        if dialog.exec():
            spec = dialog.spec()
            if spec is not None:
                self.start_spec(spec)

    def cancel_selected(self) -> None:
        from backend.jobs.status import cancel_workdir

        for job_id in self.selected_ids():
            row = self.rows.get(job_id)
            if row and row["status"] not in FINAL_STATUSES:
                cancel_workdir(Path(row["workdir"]))
        self.reload()

    def rerun_selected(self) -> None:
        from backend.jobs.runner import spec_from_dir

        for job_id in self.selected_ids():
            row = self.rows.get(job_id)
            if row is None:
                continue
            try:
                self.start_spec(spec_from_dir(Path(row["workdir"])))
            except (OSError, ValueError, TypeError) as exc:
                self._error(f"Cannot re-run {row['name'] or job_id}: its spec.json is missing or damaged ({exc}).")

    def open_folder(self) -> None:
        ids = self.selected_ids()
        if ids and ids[0] in self.rows:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.rows[ids[0]]["workdir"]))

    def _error(self, message: str) -> None:
        self.summary.setText(message)
        self.ctx.say(message)

    def notify_finished(self, row: dict) -> None:
        """A desktop notification (tray) when a job ends, else a status-bar notice."""
        score = "" if row["score"] is None else f", score {row['score']:.4g}"
        message = f"{row['name'] or row['id']}: {row['status']} after {format_duration(row)}{score}"
        self.notifications.append(message)
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.window().windowIcon(), self)
                self._tray.show()
            ok = row["status"] == JobStatus.SUCCEEDED
            self._tray.showMessage("Job finished" if ok else "Job ended", message,
                                   QSystemTrayIcon.MessageIcon.Information if ok else QSystemTrayIcon.MessageIcon.Warning,
                                   8000)
        self.ctx.say(f"Job ended — {message}")

    # -- main window hooks -------------------------------------------------------------------
    def shutdown(self) -> None:
        self.timer.stop()
        self.chart.shutdown()
        self.gpu_panel.shutdown()
        if self._text_follower is not None:
            self._text_follower.stop()
