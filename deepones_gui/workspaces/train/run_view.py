"""One training run: header (status, step, tokens/s, ETA), live loss charts, actions, lineage and
the DeepQA before/after chart. The page owns the work; this view shows a run row and emits intents."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from backend.jobs.spec import FINAL_STATUSES, JobStatus
from backend.train.export import QUANTIZATIONS
from deepones_gui.widgets.metric_chart import MetricChart

ACTIVE = ("queued", "running")


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m {seconds % 60:02d}s"


def display_path(path: str | Path, data_dir: Path | None) -> str:
    """A path as a user reads it: relative to the data dir when inside it, ``~/…`` inside home."""
    p = Path(path)
    for base, prefix in ((data_dir, ""), (Path.home(), "~/")):
        if base is not None:
            try:
                return prefix + p.relative_to(base).as_posix()
            except ValueError:
                continue
    return str(p)


class DeepQAChart(pg.PlotWidget):
    """Figure-4 style bars: accuracy (acc, acc_norm) of the base and the trained model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumHeight(170)
        self.setTitle("DeepQA before / after", color="#333", size="10pt")
        self.setYRange(0, 1)
        self.getAxis("left").setLabel("accuracy")
        self.setMouseEnabled(False, False)
        self.legend = self.addLegend(offset=(-5, 5))
        self.values: dict = {}

    def show_result(self, evaluation: dict) -> None:
        self.clear()
        self.legend.clear()
        labels = [k for k in ("base", "trained") if k in evaluation]
        self.values = {k: (evaluation[k]["acc"], evaluation[k]["acc_norm"]) for k in labels}
        if not labels:
            self.setTitle("DeepQA: not run yet", color="#777", size="10pt")
            return
        n = evaluation[labels[0]].get("n", 0)
        self.setTitle(f"DeepQA · {n} questions", color="#333", size="10pt")
        for j, (metric, colour) in enumerate((("acc", "#1f77b4"), ("acc_norm", "#ff7f0e"))):
            xs = [i + (j - 0.5) * 0.35 for i in range(len(labels))]
            ys = [self.values[k][j] for k in labels]
            bars = pg.BarGraphItem(x=xs, height=ys, width=0.33, brush=colour, name=metric)
            self.addItem(bars)
        self.getAxis("bottom").setTicks([[(i, k) for i, k in enumerate(labels)]])
        self.setXRange(-0.8, len(labels) - 0.2)


class RunView(QWidget):
    cancel_requested = Signal()
    resume_requested = Signal()
    convert_requested = Signal(str)     # quantisation
    deepqa_requested = Signal()
    designer_requested = Signal()
    task_cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, data_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.run: dict | None = None
        self.live: dict = {}
        self.busy = False
        layout = QVBoxLayout(self)
        self.header = QLabel("Select a run, or start one from the recipe.")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-size: 13px; font-weight: 600;")
        layout.addWidget(self.header)

        actions = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the run; it writes a checkpoint first")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue from the last checkpoint")
        self.quant = QComboBox()
        self.quant.addItems(QUANTIZATIONS)
        self.convert_button = QPushButton("Convert to GGUF")
        self.convert_button.setToolTip("Merge, convert with llama.cpp's converter, quantise, validate, add to Models")
        self.deepqa_button = QPushButton("DeepQA before/after")
        from backend.train.evaluate import scorer_available

        self.scorer = scorer_available()
        if not self.scorer:
            self.deepqa_button.setToolTip("Needs the Bench area's DeepQA scorer (backend.bench), not installed")
        self.designer_button = QPushButton("Use as designer")
        for w in (self.cancel_button, self.resume_button, self.quant, self.convert_button, self.deepqa_button,
                  self.designer_button):
            actions.addWidget(w)
        actions.addStretch(1)
        layout.addLayout(actions)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.convert_button.clicked.connect(lambda: self.convert_requested.emit(self.quant.currentText()))
        self.deepqa_button.clicked.connect(self.deepqa_requested)
        self.designer_button.clicked.connect(self.designer_requested)

        task_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel("")
        self.task_cancel = QPushButton("Stop")
        self.task_cancel.clicked.connect(self.task_cancel_requested)
        task_row.addWidget(self.progress_label, 1)
        task_row.addWidget(self.progress, 1)
        task_row.addWidget(self.task_cancel)
        self.task_widgets = (self.progress, self.progress_label, self.task_cancel)
        layout.addLayout(task_row)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.chart = MetricChart(show_toolbar=True)
        split.addWidget(self.chart)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Lineage"))
        self.lineage = QPlainTextEdit()
        self.lineage.setReadOnly(True)
        sl.addWidget(self.lineage, 1)
        self.deepqa_chart = DeepQAChart()
        sl.addWidget(self.deepqa_chart, 1)
        split.addWidget(side)
        split.setSizes([720, 420])   # the side fits the lineage lines and the DeepQA title uncut
        layout.addWidget(split, 1)
        self.set_task(None)
        self.show_run(None)

    def set_task(self, text: str | None, fraction: float = 0.0) -> None:
        """A background task's progress (None hides the row)."""
        self.busy = text is not None
        for w in self.task_widgets:
            w.setVisible(self.busy)
        if text is not None:
            self.progress_label.setText(text)
            self.progress.setValue(int(fraction * 1000))
        self._update_buttons()

    def show_run(self, run: dict | None, live: dict | None = None) -> None:
        self.run, self.live = run, live or {}
        if run is None:
            self.header.setText("Select a run, or start one from the recipe.")
            self.lineage.setPlainText("")
            self.deepqa_chart.show_result({})
            self._update_buttons()
            return
        status = run["status"]
        parts = [f"Run #{run['id']} · {run['name']}", status]
        phase = self.live.get("phase", "") if status in ACTIVE else ""
        if phase and phase != "training":
            parts.append(phase.rstrip("."))   # loading the model, tokenising: minutes without a metric
        elif status in ACTIVE and not self.live:
            parts.append("starting the job")
        step = self.live.get("step") or run.get("steps")
        total = self.live.get("steps_total") if status in ACTIVE else None
        if step:
            parts.append(f"step {int(step)}/{int(total)}" if total else f"step {int(step)}")
        loss = self.live.get("loss", run.get("loss_last"))
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        rate = self.live.get("tokens_per_s") or run.get("tokens_per_s")
        if rate:
            parts.append(f"{rate:,.0f} tokens/s" if rate >= 10 else f"{rate:.2f} tokens/s")
        if status in ACTIVE and self.live.get("eta_s") is not None:
            parts.append(f"ETA {format_eta(self.live['eta_s'])}")
        self.header.setText(" · ".join(parts))
        self.lineage.setPlainText(self._lineage_text(run))
        self.deepqa_chart.show_result(run.get("evaluation") or {})
        self._update_buttons()

    def _lineage_text(self, run: dict) -> str:
        lines = [f"Base: {run['base'].get('spec')} ({run['base'].get('kind')}, {run['base'].get('architecture') or '?'})",
                 f"Data: {run['data_source']}"]
        for s in run["data_summary"]:
            kinds = ", ".join(f"{k} {v}" for k, v in s["kinds"].items())
            lines.append(f"  stage {s['stage']}: {s['samples']} samples ({kinds})")
        r = run["recipe"]
        ran = run.get("lineage") or {}
        optimizer = ran.get("optimizer") or r["optimizer"]
        lines.append(f"Recipe: {r['trainer']}, {optimizer}, lr {r['learning_rate']:g} {r['schedule']}, "
                     f"LoRA r{r['lora']['rank']}/α{r['lora']['alpha']}, seq {r['max_seq_len']}, seed {r['seed']}")
        if ran.get("optimizer_note"):
            lines.append(f"Optimiser: {ran['optimizer_note']}")
        lines.append(f"Jobs: {', '.join(run['job_ids']) or '—'}")
        if run.get("loss_first") is not None:
            lines.append(f"Loss: {run['loss_first']:.4f} → {run['loss_last']:.4f} over {run['steps']} steps")
        if run.get("gguf_path"):
            lines.append(f"GGUF: {display_path(run['gguf_path'], self.data_dir)} ({run['quantization']})")
            sha = (run.get("lineage") or {}).get("gguf_sha256", "")
            lines.append(f"sha256: {sha[:16]}…" if sha else "")
        ev = run.get("evaluation") or {}
        if ev.get("base_note"):
            lines.append(ev["base_note"])
        if run.get("message"):
            lines.append(f"Note: {run['message']}")
        return "\n".join(line for line in lines if line)

    def _update_buttons(self) -> None:
        run = self.run
        status = run["status"] if run else None
        idle = not self.busy
        self.cancel_button.setEnabled(status in ACTIVE)
        self.resume_button.setEnabled(idle and status in FINAL_STATUSES and status != JobStatus.SUCCEEDED
                                      and run["trainer"] == "builtin")
        can_convert = idle and status == JobStatus.SUCCEEDED and bool(run.get("merged_path"))
        self.convert_button.setEnabled(can_convert)
        self.quant.setEnabled(can_convert)
        self.deepqa_button.setEnabled(self.scorer and idle and bool(run and run.get("gguf_path")))
        self.designer_button.setEnabled(idle and bool(run and run.get("gguf_path")))
