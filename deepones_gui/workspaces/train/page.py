"""The Train workspace: recipe form and data picker, the run list, and the selected run.

Every run is a job (:mod:`backend.train.launch`); this page starts, cancels and resumes them,
follows the selected one's log into live charts (the Jobs charts widget), and runs the export,
DeepQA and "use as designer" actions. Everything slow runs off the GUI thread
(:mod:`deepones_gui.workspaces.train.tasks`); a 1 s timer watches the running job's files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.jobs.runner import FINAL_STATUSES, read_status
from backend.train.launch import latest_metrics
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.page_protocol import WorkspacePage
from deepones_gui.workspaces.train import tasks
from deepones_gui.workspaces.train.extra_install import TrainExtraInstall
from deepones_gui.workspaces.train.recipe_form import RecipeForm
from deepones_gui.workspaces.train.run_view import ACTIVE, RunView

POLL_MS = 1000
COLUMNS = ["#", "Run", "Status", "Steps", "Loss"]


class TrainPage(WorkspacePage):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.runs: dict[int, dict] = {}
        self.current_run_id: int | None = None
        self._task = None
        self._finishing: set[int] = set()
        self._counts_task = None

        split = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Training runs"))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        # Run names wrap onto more lines instead of being cut ("SmolLM2 demo (pap…").
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        ll.addWidget(self.table, 1)
        self.new_button = QPushButton("New run…")
        self.new_button.clicked.connect(lambda: self.tabs.setCurrentIndex(0))
        ll.addWidget(self.new_button)
        split.addWidget(left)

        self.tabs = QTabWidget()
        form_page = QWidget()
        fl = QVBoxLayout(form_page)
        self.form = RecipeForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        fl.addWidget(scroll, 1)
        self.counts = QLabel("Counting samples…")
        self.counts.setWordWrap(True)
        fl.addWidget(self.counts)
        self.extra_install = TrainExtraInstall()
        fl.addWidget(self.extra_install)
        start_row = QHBoxLayout()
        self.run_name = QLineEdit()
        self.run_name.setPlaceholderText("Run name (optional)")
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        start_row.addWidget(self.run_name, 1)
        start_row.addWidget(self.start_button)
        fl.addLayout(start_row)
        self.tabs.addTab(form_page, "Recipe")
        self.view = RunView(data_dir=self.ctx.data_dir)
        self.tabs.addTab(self.view, "Run")
        split.addWidget(self.tabs)
        split.setSizes([340, 940])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(split)

        self.view.cancel_requested.connect(self.cancel_run)
        self.view.resume_requested.connect(self.resume_run)
        self.view.convert_requested.connect(self.convert_run)
        self.view.deepqa_requested.connect(self.deepqa_run)
        self.view.designer_requested.connect(self.use_as_designer)
        self.view.task_cancel_requested.connect(self._cancel_task)
        self.form.data_changed.connect(self.refresh_counts)
        self.form.changed.connect(self._update_start)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()
        run_in_background(tasks.load_models, on_result=self.form.set_models)
        ctx.broadcast.connect(self.on_broadcast)
        self.reload()
        # The form filled itself before these connections: count now, so "Counting samples…" ends.
        self.refresh_data()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.refresh_data()   # samples may have been imported, labelled or deleted meanwhile

    def refresh_data(self) -> None:
        """The picker's choices, the per-stage counts and the environment's modules, as they are now."""
        self.extra_install.check(self.ctx.settings.interpreter)
        run_in_background(tasks.data_choices, self.ctx.db_path, on_result=self.form.data.set_choices,
                          owner=self)
        self.refresh_counts()

    def on_broadcast(self, name: str, payload) -> None:
        """Data's and Traces' "Train on these": their filter becomes the run's data."""
        if name != "train_on" or not isinstance(payload, dict) or not payload.get("filter"):
            return
        self.form.data.use_from_data(str(payload["filter"]), str(payload.get("description") or payload["filter"]))
        self.tabs.setCurrentIndex(0)
        self.ctx.show_workspace("train")

    # -- runs list ---------------------------------------------------------------------------
    def reload(self) -> None:
        run_in_background(tasks.list_runs, self.ctx.db_path, on_result=self._show_runs)

    def _show_runs(self, rows: list[dict]) -> None:
        self.runs = {r["id"]: r for r in rows}
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            loss = f"{r['loss_last']:.4f}" if r.get("loss_last") is not None else ""
            for j, text in enumerate((str(r["id"]), r["name"], r["status"], str(r.get("steps") or ""), loss)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, r["id"])
                item.setToolTip(r["name"])
                self.table.setItem(i, j, item)
            if r["id"] == self.current_run_id:
                self.table.selectRow(i)
        self.table.blockSignals(False)
        if self.current_run_id in self.runs:
            self.view.show_run(self.runs[self.current_run_id], self.view.live)

    def _selection_changed(self) -> None:
        items = self.table.selectedItems()
        if items:
            self.select_run(int(items[0].data(Qt.ItemDataRole.UserRole)))

    def select_run(self, run_id: int) -> None:
        run = self.runs.get(run_id)
        if run is None:
            return
        changed = run_id != self.current_run_id
        self.current_run_id = run_id
        if changed:
            self.view.chart.clear()
            for job_id in run["job_ids"]:
                workdir = self._job_dir(job_id)
                if workdir.is_dir():
                    self.view.chart.show_job(job_id, workdir, label=f"#{run_id} {job_id[-6:]}",
                                             follow=job_id == run.get("job_id") and run["status"] in ACTIVE)
        self.view.show_run(run, latest_metrics(run["workdir"]) if run.get("workdir") else {})
        self.tabs.setCurrentWidget(self.view)

    def _job_dir(self, job_id: str) -> Path:
        return self.ctx.data_dir / "jobs" / job_id

    # -- data picker -------------------------------------------------------------------------
    def refresh_counts(self) -> None:
        try:
            recipe = self.form.recipe()
        except ValueError as exc:
            self.counts.setText(f"<span style='color:#c62828'>{exc}</span>")
            return
        self.counts.setText("Counting samples…")
        if self._counts_task is not None:
            self._counts_task.cancel()   # an older count must not overwrite this one
        task = run_in_background(tasks.count_data, self.ctx.db_path, self.form.data.text(), recipe, owner=self,
                                 on_result=lambda result: self._counted(task, result),
                                 on_error=lambda exc, _tb: self._counted(task, None, exc))
        self._counts_task = task

    def _counted(self, task, result: dict | None, exc: BaseException | None = None) -> None:
        if task is not self._counts_task:
            return   # superseded by a newer count
        self._counts_task = None
        if result is None:
            self._show_count_error(exc)
        else:
            self._show_counts(result)

    def _show_counts(self, result: dict) -> None:
        parts = []
        for s in result["summary"]:
            kinds = ", ".join(f"{k} {v}" for k, v in s["kinds"].items()) or "nothing"
            parts.append(f"<b>{s['stage']}</b>: {s['samples']} samples ({kinds})")
        text = " · ".join(parts)
        for w in result["warnings"]:
            text += f"<br><span style='color:#ef6c00'>Warning: {w}</span>"
        self.counts.setText(text)
        self.counts.setProperty("empty", all(s["samples"] == 0 for s in result["summary"]))
        self._update_start()

    def _show_count_error(self, exc: BaseException) -> None:
        self.counts.setText(f"<span style='color:#c62828'>{exc}</span>")
        self.counts.setProperty("empty", True)
        self._update_start()

    def _update_start(self) -> None:
        self.start_button.setEnabled(self._task is None and not self.counts.property("empty"))

    # -- actions -----------------------------------------------------------------------------
    def start(self) -> None:
        try:
            recipe = self.form.recipe()
        except ValueError as exc:
            QMessageBox.warning(self, "Recipe", str(exc))
            return
        self._run_task("Starting…", tasks.prepare_and_start, self.ctx.db_path, self.ctx.data_dir,
                       self.form.base.currentText().strip() or "embedded", self.form.data.text().strip() or "all",
                       recipe, self.run_name.text().strip(), "auto", on_result=self._started)

    def _started(self, info: dict) -> None:
        self.current_run_id = None
        self._pending_select = info["run_id"]
        if info.get("warnings"):
            self._status("; ".join(info["warnings"]))
        run_in_background(tasks.list_runs, self.ctx.db_path, on_result=self._show_and_select)

    def _show_and_select(self, rows: list[dict]) -> None:
        self._show_runs(rows)
        target = getattr(self, "_pending_select", None)
        if target is not None:
            self._pending_select = None
            self.current_run_id = None
            self.select_run(target)

    def cancel_run(self) -> None:
        from backend.jobs.runner import cancel_workdir

        run = self.runs.get(self.current_run_id or -1)
        if run and run.get("workdir"):
            cancel_workdir(Path(run["workdir"]))
            self._status(f"Cancelling run #{run['id']}: it writes a checkpoint first")

    def resume_run(self) -> None:
        if self.current_run_id is None:
            return
        self._run_task("Resuming…", tasks.resume, self.ctx.db_path, self.ctx.data_dir, self.current_run_id, "auto",
                       on_result=self._started)

    def convert_run(self, quantization: str) -> None:
        if self.current_run_id is None:
            return
        self._run_task(f"Converting to {quantization}…", tasks.export, self.ctx.db_path, self.ctx.data_dir,
                       self.current_run_id, quantization, on_result=lambda path: self._done(f"Added {Path(path).name} to Models"))

    def deepqa_run(self) -> None:
        if self.current_run_id is None:
            return
        self._run_task("DeepQA…", tasks.deepqa, self.ctx.db_path, self.current_run_id,
                       on_result=lambda _r: self._done("DeepQA before/after recorded"))

    def use_as_designer(self) -> None:
        run = self.runs.get(self.current_run_id or -1)
        if not run or not run.get("gguf_path"):
            return
        self.ctx.settings.designer_model = run["gguf_path"]
        self.ctx.save_settings()
        self._status(f"{Path(run['gguf_path']).name} is now the default designer (Chat, Design, Bench)")

    def _run_task(self, text: str, fn, *args, on_result) -> None:
        if self._task is not None:
            return
        self.view.set_task(text, 0.0)
        self.start_button.setEnabled(False)

        def done() -> None:
            self._task = None
            self.view.set_task(None)
            self._update_start()

        self._task = run_in_background(fn, *args, own_thread=True, on_result=on_result, on_progress=lambda f, t: self.view.set_task(t, f),
                                       on_error=lambda exc, _tb: self._error(str(exc)),
                                       on_cancelled=lambda: self._status("Stopped"), on_done=done)

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _done(self, message: str) -> None:
        self._status(message)
        self.reload()

    def _error(self, message: str) -> None:
        self._status(message)
        QMessageBox.warning(self, "Train", message)

    def _status(self, message: str) -> None:
        self.last_message = message
        self.ctx.say(message)

    # -- watching the running job --------------------------------------------------------------
    def _poll(self) -> None:
        for run in list(self.runs.values()):
            if run["status"] not in ACTIVE or not run.get("workdir") or run["id"] in self._finishing:
                continue
            status = read_status(Path(run["workdir"])).get("status", "running")
            if run["id"] == self.current_run_id:
                self.view.show_run(run, latest_metrics(run["workdir"]))
            if status in FINAL_STATUSES:
                self._finishing.add(run["id"])
                run_in_background(tasks.finish, self.ctx.db_path, run["id"], status,
                                  on_result=self._finished, on_done=lambda rid=run["id"]: self._finishing.discard(rid))

    def _finished(self, run: dict) -> None:
        self.runs[run["id"]] = run
        if run["id"] == self.current_run_id:
            self.view.chart.stop_following(run["job_id"])
            self.view.show_run(run, latest_metrics(run["workdir"]) if run.get("workdir") else {})
        self._status(f"Run #{run['id']} {run['status']}")
        self.reload()

    # -- main window hooks -------------------------------------------------------------------
    def shutdown(self) -> None:
        self.timer.stop()
        self.view.chart.shutdown()
