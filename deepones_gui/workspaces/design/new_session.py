"""The New design session dialog: a DeepBench task or a custom one, the two models, the limits."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.pipeline import SessionSettings, Task, TaskError, all_tasks, custom_task
from deepones_gui.widgets.demo_model_warning import DemoModelWarning

CUSTOM = "__custom__"


class NewSessionDialog(QDialog):
    """New session: task, models, settings. With ``existing`` it edits a session's models and settings."""

    def __init__(self, ctx, parent: QWidget | None = None, *, task_name: str = "demo-digits",
                 existing: tuple[Task, str, str, SessionSettings] | None = None) -> None:
        super().__init__(parent)
        self.existing = existing
        self.setWindowTitle("Session settings" if existing else "New design session")
        self.setMinimumWidth(560)
        self.tasks = all_tasks()
        self.task_combo = QComboBox()
        for name, task in sorted(self.tasks.items(), key=lambda kv: (not kv[1].offline, kv[1].title)):
            self.task_combo.addItem(task.title, name)
        self.task_combo.addItem("Custom task…", CUSTOM)
        index = self.task_combo.findData(task_name)
        self.task_combo.setCurrentIndex(max(0, index))
        self.task_info = QLabel()
        self.task_info.setWordWrap(True)
        self.task_info.setStyleSheet("color: palette(placeholder-text);")

        self.custom_box = QGroupBox("Custom task")
        form = QFormLayout(self.custom_box)
        self.c_task = QLineEdit(placeholderText="e.g. semantic segmentation of cell microscopy images")
        self.c_dataset = QLineEdit(placeholderText="e.g. ./data/cells with train/ and val/ folders of PNG + masks")
        self.c_details = QPlainTextEdit(placeholderText="Path layout, file formats, Hugging Face id, splits…")
        self.c_details.setMaximumHeight(70)
        self.c_metric = QLineEdit(placeholderText="e.g. mean IoU")
        self.c_direction = QComboBox()
        self.c_direction.addItems(["higher", "lower"])
        self.c_gpu = QLineEdit(placeholderText="one GPU with 48 GB of memory")
        self.c_train = QLineEdit(placeholderText="training must stop after 3,600 seconds")
        self.c_infer = QLineEdit(placeholderText="less than 1 second per example")
        for label, widget in (("Task", self.c_task), ("Dataset", self.c_dataset), ("Details", self.c_details),
                              ("Metric", self.c_metric), ("Better is", self.c_direction), ("GPU memory", self.c_gpu),
                              ("Train time", self.c_train), ("Inference time", self.c_infer)):
            form.addRow(label, widget)

        models = QGroupBox("Models")
        mform = QFormLayout(models)
        self.designer = QLineEdit(ctx.settings.designer_model)
        self.programmer = QLineEdit(ctx.settings.programmer_model)
        hint = "embedded, a .gguf path, an http(s):// OpenAI-compatible URL, or replay:FILE.jsonl"
        self.designer.setToolTip(hint)
        self.programmer.setToolTip(hint)
        mform.addRow("Designer (M_D)", self.designer)
        self.demo_warning = DemoModelWarning()
        mform.addRow(self.demo_warning)
        mform.addRow("Programmer (M_P)", self.programmer)
        self.designer.textChanged.connect(lambda text: self.demo_warning.update_for([text]))
        self.demo_warning.update_for([self.designer.text()])

        limits = QGroupBox("Settings")
        lform = QFormLayout(limits)
        defaults = SessionSettings()
        self.max_debug = QSpinBox(minimum=0, maximum=200, value=defaults.max_debug)
        self.time_limit = QDoubleSpinBox(minimum=1, maximum=7 * 86400, decimals=0, value=defaults.time_limit_s, suffix=" s")
        self.train_limit = QDoubleSpinBox(minimum=1, maximum=7 * 86400, decimals=0, value=defaults.train_time_limit_s,
                                          suffix=" s")
        self.subset = QSpinBox(minimum=1, maximum=10_000_000, value=defaults.subset_size)
        self.interpreter = QLineEdit(ctx.settings.execution_python)
        self.interpreter.setPlaceholderText("the app's own Python")
        self.improve = QCheckBox("Improve the proposal (the paper's \"+\" variant)")
        self.improve.setChecked(True)
        lform.addRow("Max debug steps", self.max_debug)
        lform.addRow("Execution time limit", self.time_limit)
        lform.addRow("Training time limit", self.train_limit)
        lform.addRow("Validation subset size", self.subset)
        lform.addRow("Execution environment", self.interpreter)
        lform.addRow("", self.improve)

        self.error = QLabel()
        self.error.setStyleSheet("color: #b91c1c;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create session")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Task"))
        layout.addWidget(self.task_combo)
        layout.addWidget(self.task_info)
        layout.addWidget(self.custom_box)
        layout.addWidget(models)
        layout.addWidget(limits)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self._task_changed()
        self.result_value: tuple[Task, str, str, SessionSettings] | None = None
        if existing is not None:
            self._load_existing(buttons, layout)

    def _load_existing(self, buttons, layout) -> None:
        task, designer, programmer, cfg = self.existing
        self.task_combo.setEnabled(False)
        self.custom_box.hide()
        self.task_info.setText(f"{task.title}: the task of a session stays fixed; the models and limits apply "
                               "to the stages run from now on.")
        self.designer.setText(designer)
        self.programmer.setText(programmer)
        self.max_debug.setValue(cfg.max_debug)
        self.time_limit.setValue(cfg.time_limit_s)
        self.train_limit.setValue(cfg.train_time_limit_s)
        self.subset.setValue(cfg.subset_size)
        self.interpreter.setText(cfg.interpreter)
        self.improve.setChecked(cfg.improve)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save")

    def _task_changed(self) -> None:
        name = self.task_combo.currentData()
        custom = name == CUSTOM
        self.custom_box.setVisible(custom)
        if not custom:
            task = self.tasks[name]
            self.task_info.setText(f"{task.dataset} · {task.metric} ({task.direction} is better)"
                                   + (" · runs offline on the CPU" if task.offline else ""))
            defaults = SessionSettings()
            # The offline demo trains for about a minute; DeepBench tasks use the paper's limits.
            self.time_limit.setValue(300 if task.offline else defaults.time_limit_s)
            self.train_limit.setValue(60 if task.offline else defaults.train_time_limit_s)
        else:
            self.task_info.setText("Describe your own task; nothing is sent until you run a stage.")
            self.time_limit.setValue(SessionSettings().time_limit_s)
            self.train_limit.setValue(SessionSettings().train_time_limit_s)
        self.adjustSize()

    def build(self) -> tuple[Task, str, str, SessionSettings]:
        name = self.task_combo.currentData()
        if self.existing is not None:
            task = self.existing[0]
        elif name == CUSTOM:
            task = custom_task(self.c_task.text(), self.c_dataset.text(), self.c_metric.text(),
                               self.c_direction.currentText(), dataset_details=self.c_details.toPlainText().strip(),
                               gpu_memory=self.c_gpu.text(), train_time=self.c_train.text(),
                               inference_time=self.c_infer.text())
        else:
            task = self.tasks[name]
        designer, programmer = self.designer.text().strip(), self.programmer.text().strip()
        if not designer or not programmer:
            raise TaskError("Name a designer and a programmer model (\"embedded\" works offline).")
        from dataclasses import replace

        base = self.existing[3] if self.existing is not None else SessionSettings()
        settings = replace(
            base, max_debug=self.max_debug.value(), time_limit_s=self.time_limit.value(),
            train_time_limit_s=min(self.train_limit.value(), self.time_limit.value()),
            subset_size=self.subset.value(), interpreter=self.interpreter.text().strip(),
            improve=self.improve.isChecked(),
        )
        return task, designer, programmer, settings

    def _accept(self) -> None:
        try:
            self.result_value = self.build()
        except TaskError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def ask_task(parent: QWidget, current: str) -> str | None:
    """Which task a chat answer is a design for (``current`` listed first); None: the user cancelled."""
    from PySide6.QtWidgets import QInputDialog

    from backend.pipeline.catalog import all_tasks

    tasks = all_tasks()
    names = sorted(tasks, key=lambda n: (n != current, tasks[n].title))
    labels = [f"{tasks[n].title}  ({n})" for n in names]
    label, ok = QInputDialog.getItem(parent, "Send to Design", "Design for which task?", labels, 0, False)
    return names[labels.index(label)] if ok and label in labels else None


def ask_session(ctx, parent: QWidget, existing=None) -> tuple | None:
    """(task, designer, programmer, settings) from the dialog (``existing``: a session's, to change
    them); None: the user cancelled."""
    dialog = NewSessionDialog(ctx, parent, existing=existing)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.result_value
