"""Preferences and About."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend import __version__, paths
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext

MODEL_HINT = "embedded · a .gguf path · http://host:port/v1 · replay:PATH"


def _with_browse(edit: QLineEdit, pick) -> tuple[QWidget, QPushButton]:
    """The field with a Browse… button beside it: (row widget, button)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(pick)
    row.addWidget(button)
    return box, button


def _check_interpreter(python: str, *, progress, partial, cancel) -> str:
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "it did not run")
    return out.stdout.strip()


class PreferencesDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(620)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.data_dir = QLineEdit(str(ctx.data_dir))
        data_box, self.data_browse = _with_browse(self.data_dir, self._pick_dir)
        form.addRow("Data folder:", data_box)
        env_set = bool(os.environ.get(paths.ENV_HOME))
        note = QLabel(
            f"Set by ${paths.ENV_HOME}; unset it to choose here." if env_set
            else "Takes effect the next time the app starts."
        )
        note.setStyleSheet("color: palette(mid);")
        # The field and its Browse… button go together: neither can change a folder the environment sets.
        self.data_dir.setEnabled(not env_set)
        self.data_browse.setEnabled(not env_set)
        if env_set:
            self.data_browse.setToolTip(f"The data folder is set by ${paths.ENV_HOME}")
        form.addRow("", note)

        s = ctx.settings
        self.python = QLineEdit(s.execution_python)
        self.python.setPlaceholderText(f"the app's own Python ({Path(s.interpreter).name})")
        self.python_status = QLabel("")
        check = QPushButton("Check")
        check.clicked.connect(self._check_python)
        py_box, _py_browse = _with_browse(self.python, self._pick_python)
        py_box.layout().addWidget(check)
        form.addRow("Python for jobs:", py_box)
        form.addRow("", self.python_status)

        self.designer = self._model_combo(s.designer_model)
        self.programmer = self._model_combo(s.programmer_model)
        form.addRow("Designer model:", self.designer)
        form.addRow("Programmer model:", self.programmer)
        hint = QLabel(MODEL_HINT)
        hint.setStyleSheet("color: palette(mid);")
        form.addRow("", hint)

        self.jobs_per_gpu = QSpinBox()
        self.jobs_per_gpu.setRange(1, 16)
        self.jobs_per_gpu.setValue(s.jobs_per_gpu)
        form.addRow("Jobs per GPU:", self.jobs_per_gpu)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(buttons)

    def _model_combo(self, current: str) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItem("embedded")
        if current and current != "embedded":
            combo.addItem(current)
        combo.setCurrentText(current or "embedded")
        return combo

    def _pick_dir(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Data folder", self.data_dir.text())
        if chosen:
            self.data_dir.setText(chosen)

    def _pick_python(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Python interpreter for jobs", "/usr/bin")
        if chosen:
            self.python.setText(chosen)

    def _check_python(self) -> None:
        python = self.python.text().strip() or self.ctx.settings.interpreter
        self.python_status.setText("Checking…")
        run_in_background(
            _check_interpreter, python,
            on_result=lambda v: self.python_status.setText(f"✓ Python {v}"),
            on_error=lambda exc, _tb: self.python_status.setText(f"✗ {python}: {exc}"),
        )

    def accept(self) -> None:
        s = self.ctx.settings
        s.execution_python = self.python.text().strip()
        s.designer_model = self.designer.currentText().strip() or "embedded"
        s.programmer_model = self.programmer.currentText().strip() or "embedded"
        s.jobs_per_gpu = self.jobs_per_gpu.value()
        self.ctx.save_settings()
        new_dir = self.data_dir.text().strip()
        if self.data_dir.isEnabled() and new_dir and Path(new_dir) != self.ctx.data_dir:
            paths.set_data_dir(Path(new_dir))
        super().accept()


def _dist_version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "not installed"


class AboutDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About DeepOnes Studio")
        rows = [
            ("DeepOnes Studio", __version__),
            ("Python", platform.python_version()),
            ("Qt", qVersion()),
            ("PySide6", pyside_version),
            ("llama-cpp-python", _dist_version("llama-cpp-python")),
            ("torch", _dist_version("torch")),
            ("Data folder", str(ctx.data_dir)),
            ("Log file", str(ctx.log_path or "")),
        ]
        html = "<h2>DeepOnes Studio</h2><p>A workbench for deep learning program design.</p><table>"
        html += "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
        html += "</table>"
        label = QLabel(html)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(buttons)
