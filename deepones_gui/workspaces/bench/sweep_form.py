"""The "New sweep" form: tasks, designers, programmer, variants, runs, executor, parallelism."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from backend.bench.records import SweepSpec
from deepones_gui.widgets.demo_model_warning import DemoModelWarning


class SweepForm(QWidget):
    def __init__(self, tasks: list[tuple[str, str]], executors: list[str], designer: str, programmer: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = QListWidget()
        self.tasks.setMaximumHeight(200)
        self.tasks.setWordWrap(True)   # long task titles wrap instead of hiding behind a sideways scroll
        self.tasks.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for name, title in tasks:
            item = QListWidgetItem(title)
            item.setToolTip(title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name == "demo-digits" else Qt.CheckState.Unchecked)
            self.tasks.addItem(item)
        self.designers = QPlainTextEdit(designer)
        self.designers.setPlaceholderText("One designer model per line (embedded, a .gguf, URL#model, replay:PATH)")
        self.designers.setMaximumHeight(64)
        self.programmer = QLineEdit(programmer)
        self.base = QCheckBox("base")
        self.plus = QCheckBox("+ (with Improve)")
        self.base.setChecked(True)
        self.plus.setChecked(True)
        variants = QHBoxLayout()
        variants.addWidget(self.base)
        variants.addWidget(self.plus)
        variants.addStretch(1)
        self.runs = QSpinBox()
        self.runs.setRange(1, 100)
        self.runs.setValue(8)
        self.max_debug = QSpinBox()
        self.max_debug.setRange(0, 200)
        self.max_debug.setValue(20)
        self.executor = QComboBox()
        self.executor.addItems(executors)
        self.cluster_button = QPushButton("Cluster…")
        self.cluster_button.setToolTip("Where and how the ray executor runs the programs")
        executor_row = QHBoxLayout()
        executor_row.addWidget(self.executor, 1)
        executor_row.addWidget(self.cluster_button)
        self.executor.currentTextChanged.connect(lambda name: self.cluster_button.setEnabled(name == "ray"))
        self.cluster_button.setEnabled(self.executor.currentText() == "ray")
        self.parallel = QSpinBox()
        self.parallel.setRange(0, 64)
        # 0 = the backend's default: one run per GPU, at least one; without a GPU that is one at a time.
        from backend.envs import gpu_present

        self.parallel.setSpecialValueText("one per GPU" if gpu_present() else "1 (no GPU found)")
        form = QFormLayout(self)
        form.addRow("Tasks", self.tasks)
        form.addRow("Designers", self.designers)
        self.demo_warning = DemoModelWarning()
        form.addRow(self.demo_warning)
        self.designers.textChanged.connect(
            lambda: self.demo_warning.update_for(self.designers.toPlainText().splitlines()))
        self.demo_warning.update_for(self.designers.toPlainText().splitlines())
        form.addRow("Programmer", self.programmer)
        form.addRow("Variants", variants)
        form.addRow("Runs each", self.runs)
        form.addRow("Debug steps", self.max_debug)
        form.addRow("Executor", executor_row)
        form.addRow("At once", self.parallel)

    def spec(self, interpreter: str = "") -> SweepSpec:
        tasks = [self.tasks.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.tasks.count())
                 if self.tasks.item(i).checkState() == Qt.CheckState.Checked]
        designers = [d.strip() for d in self.designers.toPlainText().splitlines() if d.strip()]
        variants = [v for v, box in (("base", self.base), ("plus", self.plus)) if box.isChecked()]
        return SweepSpec(tasks=tasks, designers=designers, programmer=self.programmer.text().strip(),
                         variants=variants, runs=self.runs.value(), max_debug=self.max_debug.value(),
                         executor=self.executor.currentText(), parallel=self.parallel.value() or None,
                         interpreter=interpreter)
