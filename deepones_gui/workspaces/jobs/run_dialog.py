"""The "Run program…" dialog: a Python file, its arguments and the job's limits."""

from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from backend.jobs.spec import JobLimits, JobSpec


class RunDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Run a program as a job")
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("train.py")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Program", row)
        self.args = QLineEdit()
        self.args.setPlaceholderText("--epochs 10 --lr 3e-4")
        form.addRow("Arguments", self.args)
        self.interpreter = QLineEdit(ctx.settings.interpreter)
        form.addRow("Interpreter", self.interpreter)
        self.time_limit = QSpinBox()
        self.time_limit.setRange(1, 7 * 24 * 3600)
        self.time_limit.setValue(4200)
        self.time_limit.setSuffix(" s")
        form.addRow("Time limit", self.time_limit)
        self.memory = QDoubleSpinBox()
        self.memory.setRange(0, 4096)
        self.memory.setDecimals(1)
        self.memory.setSuffix(" GB")
        self.memory.setSpecialValueText("no limit")
        form.addRow("Memory limit", self.memory)
        self.gpu = QLineEdit()
        self.gpu.setPlaceholderText("e.g. 0 or 0,1 (empty: no GPU request)")
        form.addRow("GPUs", self.gpu)
        self.no_network = QCheckBox("No network (loopback included)")
        form.addRow("", self.no_network)
        self.allow_env = QLineEdit()
        self.allow_env.setPlaceholderText("secret variables to pass through, e.g. WANDB_API_KEY")
        form.addRow("Allow env", self.allow_env)
        self.error = QLabel("")
        self.error.setStyleSheet("color:#c62828;")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(560, 0)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Program", str(Path.home()), "Python (*.py);;All files (*)")
        if path:
            self.path.setText(path)

    def _accept(self) -> None:
        if self.spec() is not None:
            self.accept()

    def spec(self) -> JobSpec | None:
        src = Path(self.path.text().strip()).expanduser()
        if not src.is_file():
            self.error.setText(f"{src} is not a file.")
            return None
        try:
            text = src.read_text("utf-8")
            args = shlex.split(self.args.text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.error.setText(f"Cannot use it: {exc}")
            return None
        limits = JobLimits(time_limit_s=float(self.time_limit.value()),
                           memory_limit_mb=self.memory.value() * 1024 if self.memory.value() else None)
        return JobSpec(argv=[src.name, *args], interpreter=self.interpreter.text().strip() or None, name=src.name,
                       files={src.name: text}, limits=limits, no_network=self.no_network.isChecked(),
                       gpu=self.gpu.text().strip() or None,
                       allow_env=[n for n in self.allow_env.text().replace(",", " ").split() if n], origin="gui")
