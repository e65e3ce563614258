"""The Generate page's panels: live progress (bar, ETA, per-stage counts, latest samples), the runs
with each step's prompt and raw answer, and the prompt templates' editor. Views only: they show what
they are given and emit what the user asks for."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.generate.records import STAGE_ORDER

STAGES = STAGE_ORDER   # the pipeline's stages, in order
IdRole = Qt.ItemDataRole.UserRole + 1
StepRole = Qt.ItemDataRole.UserRole + 2


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setStretchLastSection(True)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)  # one line a row
    return table


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
        if seconds >= 60
        else f"{seconds}s"
    )


class ProgressPanel(QWidget):
    """One run's progress and its latest samples; ``openSample``/``filterPaper`` carry the chosen sample."""

    openSample = Signal(int)
    filterPaper = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        col = QVBoxLayout(self)
        self.title = QLabel("No run yet: add papers, check the estimate, Start.")
        self.title.setWordWrap(True)
        col.addWidget(self.title)
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m papers")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        col.addWidget(self.bar)
        self.eta = QLabel("")
        col.addWidget(self.eta)
        self.stages = _table(["Stage", "ok", "failed", "skipped"])
        self.stages.setRowCount(len(STAGES))
        for row, name in enumerate(STAGES):
            self.stages.setItem(row, 0, QTableWidgetItem(name))
        self.stages.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.stages.horizontalHeader().setStretchLastSection(False)
        # Every stage in view: 11 one-line rows and the header.
        self.stages.setMinimumHeight(
            self.stages.verticalHeader().defaultSectionSize() * len(STAGES)
            + self.stages.horizontalHeader().sizeHint().height()
            + 4
        )
        self.stages.setMaximumHeight(self.stages.minimumHeight())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.stages)
        samples_box = QWidget()
        sl = QVBoxLayout(samples_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Latest samples (double-click: open in Data with its provenance)"))
        self.samples = _table(["ID", "Kind", "Category", "Paper", "Question"])
        self.samples.doubleClicked.connect(lambda _i: self._open())
        self.samples.itemSelectionChanged.connect(self._selection)
        sl.addWidget(self.samples, 1)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open in Data")
        self.open_button.setToolTip("Show the selected sample in Data, with where it came from")
        self.paper_button = QPushButton("Filter Data by this paper")
        for b in (self.open_button, self.paper_button):
            b.setEnabled(False)
            row.addWidget(b)
        row.addStretch(1)
        self.open_button.clicked.connect(self._open)
        self.paper_button.clicked.connect(self._paper)
        sl.addLayout(row)
        split.addWidget(samples_box)
        split.setStretchFactor(1, 1)
        col.addWidget(split, 1)

    def show_progress(self, info: dict) -> None:
        total = max(1, info.get("papers_total", 0))
        self.bar.setRange(0, total)
        self.bar.setValue(info.get("papers_done", 0))
        eta = info.get("eta_s")
        self.eta.setText(
            f"{info.get('samples_added', 0):,} samples added · elapsed {duration(info.get('elapsed_s'))}"
            f" · ETA {duration(eta) if eta is not None else 'after the first paper'}"
        )
        steps = info.get("steps", {})
        for row, name in enumerate(STAGES):
            counts = steps.get(name, {})
            for col, status in enumerate(("ok", "failed", "skipped"), start=1):
                item = QTableWidgetItem(str(counts.get(status, 0)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.stages.setItem(row, col, item)

    def show_samples(self, rows: list[dict]) -> None:
        selected = self.selected_id()
        self.samples.setRowCount(len(rows))
        for r, s in enumerate(rows):
            values = (
                str(s["id"]),
                s["kind"],
                s["category"],
                s["paper_title"] or s["paper_id"],
                " ".join((s["instruction"] or "").split()),
            )
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(IdRole, (s["id"], s["paper_id"]))
                if c == 4:
                    item.setToolTip(s["instruction"])
                self.samples.setItem(r, c, item)
            if s["id"] == selected:
                self.samples.selectRow(r)
        self.samples.resizeColumnsToContents()
        self.samples.setColumnWidth(3, min(self.samples.columnWidth(3), 180))
        self._selection()

    def selected(self) -> tuple[int, str] | None:
        rows = self.samples.selectionModel().selectedRows()
        return self.samples.item(rows[0].row(), 0).data(IdRole) if rows else None

    def selected_id(self) -> int | None:
        chosen = self.selected()
        return chosen[0] if chosen else None

    def _selection(self) -> None:
        for b in (self.open_button, self.paper_button):
            b.setEnabled(self.selected() is not None)

    def _open(self) -> None:
        if (chosen := self.selected()) is not None:
            self.openSample.emit(chosen[0])

    def _paper(self) -> None:
        if (chosen := self.selected()) is not None:
            self.filterPaper.emit(chosen[1])


class RunsPanel(QWidget):
    """Runs with their status, and the chosen run's steps: prompt, raw answer and parsed JSON of each."""

    runChosen = Signal(int)
    stepChosen = Signal(int, int, str)  # run, paper position, step name
    resumeRequested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        col = QVBoxLayout(self)
        self.runs = _table(["Run", "Dataset", "Status", "Papers", "Samples", "Model"])
        self.runs.itemSelectionChanged.connect(self._run_changed)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.runs, 1)
        row = QHBoxLayout()
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Finish the selected run without redoing its finished steps")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(lambda: self.resumeRequested.emit(self.selected_run()))
        self.message = QLabel("")
        self.message.setWordWrap(True)
        row.addWidget(self.resume_button)
        row.addWidget(self.message, 1)
        tl.addLayout(row)
        split.addWidget(top)
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.steps = QTreeWidget()
        self.steps.setHeaderLabels(["Paper / step", "Status"])
        self.steps.itemSelectionChanged.connect(self._step_changed)
        self.steps.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.steps.header().setStretchLastSection(False)
        lower.addWidget(self.steps)
        self.viewer = QTabWidget()
        self.prompt_view, self.raw_view, self.parsed_view = (
            QPlainTextEdit(),
            QPlainTextEdit(),
            QPlainTextEdit(),
        )
        for view, title in (
            (self.prompt_view, "Prompt"),
            (self.raw_view, "Raw answer"),
            (self.parsed_view, "Parsed"),
        ):
            view.setReadOnly(True)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
            self.viewer.addTab(view, title)
        self.step_info = QLabel("Select a step to see what was asked and answered.")
        self.step_info.setWordWrap(True)
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.step_info)
        bl.addWidget(self.viewer, 1)
        lower.addWidget(box)
        lower.setSizes([260, 440])
        split.addWidget(lower)
        split.setSizes([200, 420])
        col.addWidget(split, 1)
        self._statuses: dict[int, str] = {}
        self.busy_run: int | None = None

    def show_runs(self, rows: list[dict]) -> None:
        keep = self.selected_run()
        self._statuses = {r["id"]: r["status"] for r in rows}
        self.runs.blockSignals(True)
        self.runs.setRowCount(len(rows))
        for i, r in enumerate(rows):
            values = (
                f"#{r['id']}",
                r["dataset"],
                r["status"],
                f"{r['papers_done']}/{r['papers']}",
                str(r["samples_added"]),
                r["model"],
            )
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(IdRole, r["id"])
                item.setToolTip(r["message"] or value)
                self.runs.setItem(i, c, item)
            if r["id"] == keep:
                self.runs.selectRow(i)
        self.runs.resizeColumnsToContents()
        self.runs.blockSignals(False)
        if keep is None and rows:
            self.runs.selectRow(0)
        self._update_buttons()

    def select_run(self, run_id: int) -> None:
        for i in range(self.runs.rowCount()):
            if self.runs.item(i, 0).data(IdRole) == run_id:
                self.runs.selectRow(i)
                return

    def selected_run(self) -> int | None:
        rows = self.runs.selectionModel().selectedRows()
        return self.runs.item(rows[0].row(), 0).data(IdRole) if rows else None

    def resumable(self, run_id: int | None) -> bool:
        return (
            run_id is not None
            and run_id != self.busy_run
            and self._statuses.get(run_id) in ("pending", "cancelled", "interrupted", "failed")
        )

    def _update_buttons(self) -> None:
        run_id = self.selected_run()
        self.resume_button.setEnabled(self.resumable(run_id))
        status = self._statuses.get(run_id, "")
        self.message.setText(
            ""
            if run_id is None
            else f"Run #{run_id} is {status}." + (" Resume finishes it." if self.resumable(run_id) else "")
        )

    def _run_changed(self) -> None:
        self._update_buttons()
        if (run_id := self.selected_run()) is not None:
            self.runChosen.emit(run_id)

    def show_steps(self, run_id: int, steps: list[dict]) -> None:
        if run_id != self.selected_run():
            return
        keep = self._chosen_step()
        self.steps.clear()
        papers: dict[int, QTreeWidgetItem] = {}
        for s in steps:
            parent = papers.get(s["position"])
            if parent is None:
                parent = papers[s["position"]] = QTreeWidgetItem(
                    self.steps, [s["paper"] or f"paper {s['position']}", ""]
                )
                parent.setExpanded(len(papers) <= 3)
            item = QTreeWidgetItem(parent, [s["name"], s["status"]])
            item.setData(0, StepRole, (run_id, s["position"], s["name"]))
            item.setToolTip(0, s["reason"] or s["name"])
            if s["status"] == "failed":
                item.setForeground(1, Qt.GlobalColor.red)
            if keep == (run_id, s["position"], s["name"]):
                self.steps.setCurrentItem(item)

    def _chosen_step(self):
        item = self.steps.currentItem()
        return item.data(0, StepRole) if item is not None else None

    def _step_changed(self) -> None:
        chosen = self._chosen_step()
        if chosen:
            self.stepChosen.emit(*chosen)

    def show_step(self, detail: dict | None) -> None:
        if detail is None:
            return
        reason = f" — {detail['reason']}" if detail["reason"] else ""
        self.step_info.setText(
            f"{detail['status']}{reason} · prompt {detail['prompt_version']} · "
            f"{detail['attempts']} attempt(s) · {detail['prompt_tokens']:,} + "
            f"{detail['completion_tokens']:,} tokens"
        )
        self.prompt_view.setPlainText(detail["prompt"])
        self.raw_view.setPlainText(detail["raw"])
        self.parsed_view.setPlainText(detail["parsed"] or "(nothing parsed)")


class PromptsPanel(QWidget):
    """Edit a stage's prompt template; the version each sample records changes with the text."""

    saveRequested = Signal(str, str)  # stage, body
    resetRequested = Signal(str)
    stageChosen = Signal(str)

    def __init__(self, stages: tuple[str, ...]) -> None:
        super().__init__()
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.stage = QComboBox()
        self.stage.addItems(stages)
        self.stage.currentTextChanged.connect(self.stageChosen)
        self.version = QLabel("")
        row.addWidget(QLabel("Stage"))
        row.addWidget(self.stage)
        row.addWidget(self.version, 1)
        col.addLayout(row)
        self.editor = QPlainTextEdit()
        self.editor.setToolTip(
            "{{name}} placeholders are filled in per paper; the answer's JSON schema is added by the pipeline"
        )
        col.addWidget(self.editor, 1)
        buttons = QHBoxLayout()
        self.save = QPushButton("Save")
        self.save.setShortcut("Ctrl+S")
        self.reset = QPushButton("Reset to packaged")
        self.save.clicked.connect(
            lambda: self.saveRequested.emit(self.stage.currentText(), self.editor.toPlainText())
        )
        self.reset.clicked.connect(lambda: self.resetRequested.emit(self.stage.currentText()))
        self.status = QLabel("")
        buttons.addWidget(self.save)
        buttons.addWidget(self.reset)
        buttons.addWidget(self.status, 1)
        col.addLayout(buttons)

    def show_prompt(self, version: str, body: str, user: bool) -> None:
        self.version.setText(f"version {version}" + (" (your edit)" if user else " (packaged)"))
        self.editor.setPlainText(body)
        self.reset.setEnabled(user)
