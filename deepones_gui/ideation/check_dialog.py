"""Chat's "Check" on a code block: the snippet's model checked against a task chosen here (a model-only
snippet is enough: the check builds its ``build_model()`` or its largest no-argument ``nn.Module``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from backend.ideation.result import CheckRequest
from deepones_gui.ideation.check_panel import CheckPanel


def looks_like_a_model(code: str, language: str = "python") -> bool:
    """A code block worth a "Check": Python that defines or builds a torch module."""
    return language.lower() in ("", "python", "py", "python3") and ("nn.Module" in code or "build_model" in code)


def checkable_tasks() -> list:
    """Tasks whose input the check can make up (those with an input spec), the demo task first."""
    from backend.pipeline import all_tasks

    tasks = [t for t in all_tasks().values() if t.input_spec is not None]
    return sorted(tasks, key=lambda t: (not t.offline, t.title))


class CheckDialog(QDialog):
    def __init__(self, code: str, root: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Check model")
        self.resize(760, 620)
        self.code = code
        self.task_combo = QComboBox()
        for task in checkable_tasks():
            self.task_combo.addItem(task.title, task)
        self.task_combo.currentIndexChanged.connect(self._task_chosen)
        self.panel = CheckPanel(root)
        self.panel.send_btn.setVisible(False)     # no designer session to send it back to from Chat
        row = QHBoxLayout()
        row.addWidget(QLabel("Task:"))
        row.addWidget(self.task_combo, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.panel, 1)
        layout.addWidget(buttons)
        self._task_chosen()

    def _task_chosen(self) -> None:
        task = self.task_combo.currentData()
        if task is None:
            self.panel.set_program(self.code, None, why_not="No task has an input shape to check against.")
        else:
            self.panel.set_program(self.code, CheckRequest.for_task(task))

    def reject(self) -> None:
        self.panel.shutdown()      # a check still running is cancelled, not left behind
        super().reject()
