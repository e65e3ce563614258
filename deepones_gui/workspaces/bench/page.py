"""The Bench workspace page: pick or start a sweep, watch it, read Table 2 / Table 3 / error chart, DeepQA.

Views only render: rows and tables come from backend.bench on a pool thread (its own store
connection); a sweep runs on a pool thread too (:class:`backend.bench.sweep.SweepRunner`, whose
events come back as partial results). A run opens in Design or Traces through broadcasts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.bench.categories_panel import CategoryPanel
from deepones_gui.workspaces.bench.charts import GroupedBarChart
from deepones_gui.workspaces.bench.deepqa_panel import DeepQAPanel
from deepones_gui.workspaces.bench.sweep_form import SweepForm
from deepones_gui.workspaces.bench.tables import RunsView, Table2View, Table3View
from deepones_gui.workspaces.page_protocol import WorkspacePage


def _load_sweeps(db_path, *, progress, partial, cancel) -> list[dict]:
    from backend.bench.records import list_sweeps
    from backend.store import connection

    with connection(db_path) as db:
        return list_sweeps(db)


def _load_sweep(db_path, sweep_id: int, *, progress, partial, cancel) -> dict:
    from backend.bench import aggregate, records
    from backend.store import connection

    with connection(db_path) as db:
        rows = records.results(db, sweep_id)
        info = records.progress(db, sweep_id)
    return {"sweep_id": sweep_id, "rows": rows, "table2": aggregate.table2(rows), "table3": aggregate.table3(rows),
            "errors": aggregate.error_shares(aggregate.error_counts(rows)), "progress": info}


def _start(db_path, spec, root, *, progress, partial, cancel) -> int:
    from backend.bench.sweep import start_sweep
    from backend.store import connection

    with connection(db_path) as db:
        return start_sweep(db, spec, root=root)


def _run(runner, *, progress, partial, cancel) -> dict:
    runner.on_event = lambda kind, info: partial((kind, info))
    unlink = cancel.on_cancel(runner.cancel)   # the task's Cancel (shutdown) stops the sweep too
    try:
        return runner.run()
    finally:
        unlink()


class BenchPage(WorkspacePage):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sweep_id: int | None = None
        self.data: dict | None = None
        self.runner = None
        self.cell: tuple[str, str, str] | None = None
        from backend.workspaces import workspaces

        # "Open in Traces" only where a Traces workspace is installed (it is another plugin).
        self._workspaces = {spec.name for spec in workspaces()}

        self.sweeps = QComboBox()
        # Sized for ~28 characters (the full text is in each item's tooltip), not for the longest
        # sweep name: a 380-px box pushed the export menu off a 1280-px screen.
        self.sweeps.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sweeps.setMinimumContentsLength(28)
        self.sweeps.currentIndexChanged.connect(self._sweep_chosen)
        self.new_button = QPushButton("New sweep…")
        self.new_button.setCheckable(True)
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.export = QComboBox()
        self.export.addItems(["Export…", "Table 2 as Markdown", "Table 2 as CSV", "Table 2 as LaTeX",
                              "Table 3 as Markdown", "Table 3 as CSV", "Table 3 as LaTeX", "Errors as CSV"])
        self.export.activated.connect(self._export)
        self.progress = QProgressBar()
        self.progress.setFormat("%v/%m runs")
        self.progress.setMaximumWidth(260)
        self.status = QLabel("")
        self.status.setWordWrap(True)   # a long message wraps instead of widening the window
        top = QHBoxLayout()
        top.addWidget(QLabel("Sweep"))
        top.addWidget(self.sweeps)
        top.addWidget(self.new_button)
        top.addWidget(self.resume_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.progress)
        top.addWidget(self.status, 1)
        top.addWidget(self.export)

        from backend.jobs.executors import executor_factories
        from backend.pipeline import all_tasks

        tasks = sorted(((t.name, t.title) for t in all_tasks().values()), key=lambda t: (t[0] != "demo-digits", t[1]))
        self.form = SweepForm(tasks, sorted(executor_factories()), ctx.settings.designer_model or "embedded",
                              ctx.settings.programmer_model or "embedded")
        self.start_button = QPushButton("Start sweep")
        form_box = QWidget()
        fl = QVBoxLayout(form_box)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.form)
        fl.addWidget(self.start_button, 0, Qt.AlignmentFlag.AlignRight)
        fl.addStretch(1)   # the rows keep their own height; spare room goes below the button
        form_box.setVisible(False)
        form_box.setMaximumWidth(560)
        self.form_box = form_box

        self.table2 = Table2View()
        self.table3 = Table3View()
        self.runs = RunsView()
        self.runs_title = QLabel("Click a row of Table 2 to see its runs.")
        self.open_design = QPushButton("Open in Design")
        self.open_trace = QPushButton("Open in Traces")
        runs_box = QWidget()
        rl = QVBoxLayout(runs_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.runs_title)
        rl.addWidget(self.runs, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_design)
        buttons.addWidget(self.open_trace)
        rl.addLayout(buttons)
        self.errors = GroupedBarChart("Share of error types while debugging (Figure 7)", "% of debugging errors")
        self.deepqa = DeepQAPanel(ctx)
        self.categories = CategoryPanel(ctx)

        table2_split = QSplitter(Qt.Orientation.Vertical)
        table2_split.addWidget(self.table2)
        table2_split.addWidget(runs_box)
        table2_split.setSizes([320, 280])
        self.tabs = QTabWidget()
        self.tabs.addTab(table2_split, "Table 2")
        self.tabs.addTab(self.table3, "Table 3")
        self.tabs.addTab(self.errors, "Errors")
        self.tabs.addTab(self.deepqa, "DeepQA")
        self.tabs.addTab(self.categories, "Data categories")
        body = QHBoxLayout()
        body.addWidget(form_box)
        body.addWidget(self.tabs, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        self.new_button.toggled.connect(form_box.setVisible)
        self.start_button.clicked.connect(self.start_sweep)
        self.form.cluster_button.clicked.connect(self.edit_cluster)
        self.resume_button.clicked.connect(self.resume_sweep)
        self.cancel_button.clicked.connect(self.cancel_sweep)
        self.table2.cell_clicked_runs.connect(self.show_runs)
        self.runs.itemSelectionChanged.connect(self._update_buttons)
        self.runs.cellDoubleClicked.connect(lambda *_: self.open_selected("design"))
        self.open_design.clicked.connect(lambda: self.open_selected("design"))
        self.open_trace.clicked.connect(lambda: self.open_selected("trace"))
        self._update_buttons()
        self.refresh()

    # -- loading -----------------------------------------------------------------------------
    def refresh(self, select: int | None = None) -> None:
        run_in_background(_load_sweeps, self.ctx.db_path, on_result=lambda s: self._fill_sweeps(s, select))

    def _fill_sweeps(self, sweeps: list[dict], select: int | None) -> None:
        from backend.bench.report import model_label

        keep = select if select is not None else self.sweep_id
        self.sweeps.blockSignals(True)
        self.sweeps.clear()
        for s in sweeps:
            sp = s["spec"]
            done = sum(s["counts"].get(k, 0) for k in ("succeeded", "failed"))
            designers = ", ".join(model_label(d) for d in sp["designers"])
            text = f"#{s['id']} {s['status']} {done}/{sum(s['counts'].values())} · {', '.join(sp['tasks'])}"
            self.sweeps.addItem(text, s["id"])
            self.sweeps.setItemData(self.sweeps.count() - 1, f"{text}\ndesigners: {designers}\nprogrammer: "
                                    f"{sp['programmer']}\nexecutor: {sp['executor']}", Qt.ItemDataRole.ToolTipRole)
        if not sweeps:
            self.sweeps.addItem("No sweeps yet: New sweep…", None)
        self.sweeps.blockSignals(False)
        index = max(0, self.sweeps.findData(keep)) if keep is not None else 0
        self.sweeps.setCurrentIndex(index)
        self._sweep_chosen(index)

    def _sweep_chosen(self, _index: int) -> None:
        self.sweep_id = self.sweeps.currentData()
        self._update_buttons()
        if self.sweep_id is not None:
            self.load_sweep(self.sweep_id)
        else:
            self._show({"rows": [], "table2": [], "table3": [], "errors": {}, "progress": {"total": 0, "done": 0}})

    def load_sweep(self, sweep_id: int) -> None:
        run_in_background(_load_sweep, self.ctx.db_path, sweep_id, on_result=self._show)

    def _show(self, data: dict) -> None:
        if data.get("sweep_id") not in (None, self.sweep_id):
            return
        self.data = data
        self.table2.set_rows(data["table2"])
        self.table3.set_rows(data["table3"])
        prog = data["progress"]
        self.progress.setRange(0, max(1, prog["total"]))
        self.progress.setValue(prog["done"])
        # Before any sweep there are no runs: "0/1 runs" would count one that does not exist.
        self.progress.setFormat("%v/%m runs" if prog["total"] else "no runs yet")
        from backend.bench.report import model_label

        shares = data["errors"]
        kinds = sorted({k for by_v in shares.values() for s in by_v.values() for k in s})
        series = {f"{model_label(d)} {'+' if v == 'plus' else 'base'}": [100 * shares[d][v].get(k, 0.0) for k in kinds]
                  for d in sorted(shares) for v in sorted(shares[d])}
        self.errors.set_data(kinds, series, empty_text="No debugging errors recorded in this sweep.")
        if self.cell is not None:
            self.show_runs(*self.cell)
        self._update_buttons()

    # -- runs of a cell ----------------------------------------------------------------------
    def show_runs(self, task: str, designer: str, variant: str) -> None:
        from backend.bench.report import model_label

        self.cell = (task, designer, variant)
        rows = [r for r in (self.data or {}).get("rows", [])
                if (r["task"], r["designer"], r["variant"]) == self.cell]
        self.runs.set_rows(rows)
        self.runs_title.setText(f"Runs of {task} · {model_label(designer)} · {'+' if variant == 'plus' else 'base'}"
                                " (double-click opens the session in Design)")
        self._update_buttons()

    def open_selected(self, where: str) -> None:
        session_id = self.runs.selected_session()
        if session_id is None:
            return
        name = "open_design_session" if where == "design" else "open_trace"
        self.ctx.broadcast.emit(name, {"session_id": int(session_id)})
        target = "design" if where == "design" else "traces"
        if target in self._workspaces:
            self.ctx.show_workspace(target)

    # -- running -----------------------------------------------------------------------------
    def edit_cluster(self) -> None:
        from deepones_gui.workspaces.bench.ray_dialog import RaySettingsDialog

        RaySettingsDialog(self.ctx.data_dir, self).exec()

    def start_sweep(self) -> None:
        spec = self.form.spec(self.ctx.settings.execution_python)
        self.status.setText("Checking the sweep…")
        run_in_background(_start, self.ctx.db_path, spec, self.ctx.data_dir, on_result=self._started,
                          on_error=lambda exc, _tb: self._failed(exc))

    def _started(self, sweep_id: int) -> None:
        self.new_button.setChecked(False)
        self.sweep_id = sweep_id
        self.refresh(select=sweep_id)
        self._run(sweep_id)

    def resume_sweep(self) -> None:
        if self.sweep_id is not None:
            self._run(self.sweep_id)

    def _run(self, sweep_id: int) -> None:
        from backend.bench.sweep import SweepRunner

        self.runner = SweepRunner(sweep_id, root=self.ctx.data_dir)
        self.status.setText("Running…")
        # A sweep runs for hours: its own thread, owned here through self.runner (Cancel).
        run_in_background(_run, self.runner, own_thread=True, on_partial=self._event, on_result=self._run_done,
                          on_error=lambda exc, _tb: self._failed(exc), on_done=self._run_ended)
        self._update_buttons()

    def _event(self, event) -> None:
        kind, info = event
        if kind == "progress":
            self.progress.setRange(0, max(1, info["total"]))
            self.progress.setValue(info["done"])
            self.progress.setFormat("%v/%m runs" if info["total"] else "no runs yet")
            eta = info.get("eta_s")
            self.status.setText(f"{info['done']}/{info['total']} runs" + (f", about {eta:.0f} s left" if eta else ""))
            if self.sweep_id is not None:
                self.load_sweep(self.sweep_id)
        elif kind == "run_started":
            self.status.setText(f"Running {info['task']} · run {info['run_index'] + 1} ({info['variant']})…")

    def _run_done(self, info: dict) -> None:
        self.status.setText(f"Sweep {info['status']}: {info['done']}/{info['total']} runs")
        if self.runner is not None and self.runner.sweep_id == self.sweep_id and self.data is not None:
            # The buttons follow the final count now, not the one loaded before the last runs
            # (Resume stayed enabled on a finished sweep until the reload landed).
            self.data["progress"] = {**(self.data.get("progress") or {}), "done": info["done"],
                                     "total": info["total"]}

    def _run_ended(self) -> None:
        self.runner = None
        self._update_buttons()
        self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        self._update_buttons()

    def cancel_sweep(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.status.setText("Cancelling: stopping the runs in flight…")
            self.cancel_button.setEnabled(False)

    def _update_buttons(self) -> None:
        running = self.runner is not None
        prog = (self.data or {}).get("progress") or {}
        unfinished = bool(prog) and prog.get("done", 0) < prog.get("total", 0)
        self.resume_button.setEnabled(not running and self.sweep_id is not None and unfinished)
        self.cancel_button.setEnabled(running)
        self.start_button.setEnabled(not running)
        has_session = self.runs.selected_session() is not None
        self.open_design.setEnabled(has_session and "design" in self._workspaces)
        self.open_trace.setEnabled(has_session and "traces" in self._workspaces)
        self.export.setEnabled(bool((self.data or {}).get("rows")))

    # -- export ------------------------------------------------------------------------------
    def _export(self, index: int) -> None:
        self.export.setCurrentIndex(0)
        if index <= 0 or not self.data:
            return
        label = self.export.itemText(index)
        table = "errors" if label.startswith("Errors") else label.split()[1]
        fmt = {"Markdown": "md", "CSV": "csv", "LaTeX": "latex"}[label.split()[-1]]
        suffix = {"md": "md", "csv": "csv", "latex": "tex"}[fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Export table", f"table{table}.{suffix}")
        if not path:
            return
        from backend.bench.report import render

        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(render(self.data["rows"], table, fmt))
        except OSError as exc:
            QMessageBox.warning(self, "Export", f"Cannot write {path}: {exc.strerror or exc}")
