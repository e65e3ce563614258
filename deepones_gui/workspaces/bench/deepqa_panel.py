"""DeepQA in the Bench workspace: run an evaluation in a child process, chart accuracy per category.

llama.cpp runs in the child (``deepones bench deepqa --json``), never in the GUI process: native
code that can crash stays out of it, and the GUI thread never waits on scoring.
"""

from __future__ import annotations

import json
import re
import sys

from PySide6.QtCore import QProcess, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.bench.charts import GroupedBarChart

_PROGRESS = re.compile(r"(\d+)/(\d+) questions(?:, ETA (\d+) s)?")


def category_label(cat: dict | None) -> str:
    """Accuracy with the count it comes from: "0.67 (2/3)" (a share of 3 questions is not one of 300)."""
    if not cat or not cat.get("total"):
        return ""
    return f"{cat['correct'] / cat['total']:.2f} ({cat['correct']}/{cat['total']})"


def _load_evals(db_path, *, progress, partial, cancel) -> list[dict]:
    from backend.bench.deepqa import list_evals
    from backend.store import connection

    with connection(db_path) as db:
        return list_evals(db)


class DeepQAPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = QLineEdit(ctx.settings.designer_model or "embedded")
        self.model.setPlaceholderText("embedded, a .gguf path, URL#model")
        self.file = QLineEdit()
        self.file.setPlaceholderText("MCQ file (JSONL); empty: the store's DeepQA samples")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.query = QLineEdit()
        self.query.setPlaceholderText("search the store's questions (optional)")
        self.mode = QComboBox()
        self.mode.addItems(["loglik", "generate"])
        self.limit = QSpinBox()
        self.limit.setRange(0, 100000)
        self.limit.setSpecialValueText("all")
        self.run_button = QPushButton("Evaluate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.evals = QListWidget()
        self.evals.setMaximumWidth(360)
        self.evals.itemChanged.connect(lambda _item: self._redraw())
        self.chart = GroupedBarChart("DeepQA accuracy per category", "accuracy")

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Model"))
        row1.addWidget(self.model, 2)
        row1.addWidget(QLabel("Mode"))
        row1.addWidget(self.mode)
        row1.addWidget(QLabel("Limit"))
        row1.addWidget(self.limit)
        row2 = QHBoxLayout()
        row2.addWidget(self.file, 2)
        row2.addWidget(browse)
        row2.addWidget(self.query, 1)
        row2.addWidget(self.run_button)
        row2.addWidget(self.cancel_button)
        body = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("Evaluations (tick to compare)"))
        left.addWidget(self.evals, 1)
        body.addLayout(left)
        body.addWidget(self.chart, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(body, 1)
        self.proc: QProcess | None = None
        self.summaries: list[dict] = []
        self.refresh()

    # -- evaluations list and chart ----------------------------------------------------------
    def refresh(self) -> None:
        run_in_background(_load_evals, self.ctx.db_path, on_result=self._show_evals)

    def _show_evals(self, summaries: list[dict]) -> None:
        self.summaries = summaries
        self.evals.blockSignals(True)
        self.evals.clear()
        for i, s in enumerate(summaries):
            acc = "-" if s["accuracy"] is None else f"{s['accuracy']:.2f}"
            from backend.bench.report import model_label

            item = QListWidgetItem(f"#{s['eval_id']} {model_label(s['model'])} · {s['mode']} · {s['total']} q · acc {acc}")
            item.setData(Qt.ItemDataRole.UserRole, s["eval_id"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if i < 3 else Qt.CheckState.Unchecked)
            self.evals.addItem(item)
        self.evals.blockSignals(False)
        self._redraw()

    def _redraw(self) -> None:
        ticked = {self.evals.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.evals.count())
                  if self.evals.item(i).checkState() == Qt.CheckState.Checked}
        chosen = [s for s in self.summaries if s["eval_id"] in ticked]
        categories = sorted({c for s in chosen for c in s["by_category"]})
        from backend.bench.report import model_label

        names = {s["eval_id"]: f"#{s['eval_id']} {model_label(s['model'])} ({s['mode']})" for s in chosen}
        series = {names[s["eval_id"]]: [(s["by_category"].get(c) or {}).get("accuracy") or 0.0 for c in categories]
                  for s in chosen}
        labels = {names[s["eval_id"]]: [category_label(s["by_category"].get(c)) for c in categories] for s in chosen}
        self.chart.set_data(categories, series, labels=labels,
                            empty_text="No DeepQA evaluation yet: pick a model and Evaluate.")

    # -- running -----------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "MCQ file", "", "JSON lines (*.jsonl *.json);;All files (*)")
        if path:
            self.file.setText(path)

    def arguments(self) -> list[str]:
        args = ["-m", "deepones_gui", "bench", "deepqa", "--model", self.model.text().strip() or "embedded",
                "--mode", self.mode.currentText(), "--json"]
        if self.file.text().strip():
            args += ["--file", self.file.text().strip()]
        elif self.query.text().strip():
            args += ["--query", self.query.text().strip()]
        if self.limit.value():
            args += ["--limit", str(self.limit.value())]
        return args

    def start(self) -> None:
        if self.proc is not None:
            return
        self.proc = QProcess(self)
        self.proc.setProgram(sys.executable)
        self.proc.setArguments(self.arguments())
        self.proc.readyReadStandardError.connect(self._read_progress)
        self.proc.finished.connect(self._finished)
        self._stderr = ""
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Loading the model…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.proc.start()

    def cancel(self) -> None:
        if self.proc is not None:
            self.proc.terminate()   # SIGTERM: the child stops after the question in progress
            self.status.setText("Cancelling…")

    def _read_progress(self) -> None:
        text = bytes(self.proc.readAllStandardError()).decode("utf-8", errors="replace")
        self._stderr += text
        for m in _PROGRESS.finditer(text):
            done, total, eta = int(m.group(1)), int(m.group(2)), m.group(3)
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.status.setText(f"{done}/{total} questions" + (f", about {eta} s left" if eta else ""))

    def _finished(self, code: int, _status) -> None:
        proc, self.proc = self.proc, None
        out = bytes(proc.readAllStandardOutput()).decode("utf-8", errors="replace").strip().splitlines()
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if code == 0 and out:
            try:
                r = json.loads(out[-1])
                norm = f", acc_norm {r['acc_norm']:.2f}" if r.get("acc_norm") is not None else ""
                threads = f"; {r['batch_threads']['note']}" if r.get("batch_threads") else ""
                self.status.setText(f"Finished evaluation #{r['eval_id']} of {r['model']} ({r['mode']}): "
                                    f"{r['correct']}/{r['total']} correct, accuracy {r['accuracy']:.2f}{norm}{threads}")
            except (ValueError, KeyError, TypeError):
                self.status.setText("Finished.")
        else:
            last = [ln for ln in self._stderr.splitlines() if ln.startswith("deepones:")]
            self.status.setText(last[-1] if last else f"Stopped (exit code {code}).")
        proc.deleteLater()
        self.refresh()
