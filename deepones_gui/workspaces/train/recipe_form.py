"""The recipe form: base, data, trainer and every recipe value, with a "Paper recipe" reset.

It only edits a :class:`backend.train.recipe.Recipe`; the page decides what to do with it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.train.recipe import (
    OPTIMIZERS,
    SCHEDULES,
    TRAINERS,
    LoraRecipe,
    Recipe,
    StageRecipe,
    paper_recipe,
)
from deepones_gui.workspaces.train.data_picker import DataPicker

STAGE_COLUMNS = ["Stage", "Kinds", "Replays", "Replay share", "Epochs", "Batch", "Accum."]


def _spin(lo: int, hi: int, value: int) -> QSpinBox:
    w = QSpinBox()
    w.setRange(lo, hi)
    w.setValue(value)
    return w


def _dspin(lo: float, hi: float, value: float, decimals: int, step: float) -> QDoubleSpinBox:
    w = QDoubleSpinBox()
    w.setDecimals(decimals)
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setValue(value)
    return w


class RecipeForm(QWidget):
    changed = Signal()         # anything edited
    data_changed = Signal()    # base or data source edited: the counts need a refresh

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        source = QGroupBox("Base model and data")
        sf = QFormLayout(source)
        self.base = QComboBox()
        self.base.setEditable(True)
        self.base.setToolTip("'embedded', a .gguf, a Hugging Face model folder or a hub id in the HF cache")
        sf.addRow("Base model", self.base)
        self.data = DataPicker()
        sf.addRow("Data", self.data)
        self.trainer = QComboBox()
        self.trainer.addItems(TRAINERS)
        sf.addRow("Trainer", self.trainer)
        outer.addWidget(source)

        stages = QGroupBox("Stages (paper: instruction, then DLPD with 1% of stage 1 replayed)")
        sl = QVBoxLayout(stages)
        self.stages = QTableWidget(0, len(STAGE_COLUMNS))
        self.stages.setHorizontalHeaderLabels(STAGE_COLUMNS)
        self.stages.verticalHeader().setVisible(False)
        self.stages.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.stages.setMinimumHeight(96)
        self.stages.setMaximumHeight(110)
        sl.addWidget(self.stages)
        outer.addWidget(stages)

        hp = QGroupBox("Optimisation and LoRA")
        grid = QHBoxLayout(hp)
        left, right = QFormLayout(), QFormLayout()
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setToolTip("adam-mini runs when it is installed in the execution environment "
                                  "(pip install '.[adam]'); otherwise AdamW runs, and the run's lineage says so")
        self.lr = _dspin(1e-7, 0.5, 3e-4, 6, 1e-5)
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULES)
        self.warmup = _dspin(0, 0.5, 0.01, 3, 0.01)
        self.seq_len = _spin(8, 131072, 2048)
        self.seed = _spin(0, 2**31 - 1, 42)
        self.max_steps = _spin(0, 10**7, 0)
        self.max_steps.setSpecialValueText("no cap")
        self.save_steps = _spin(1, 10**6, 50)
        left.addRow("Optimiser", self.optimizer)
        left.addRow("Learning rate", self.lr)
        left.addRow("Schedule", self.schedule)
        left.addRow("Warm-up ratio", self.warmup)
        left.addRow("Max sequence length", self.seq_len)
        left.addRow("Max steps per stage", self.max_steps)
        self.rank = _spin(1, 1024, 8)
        self.alpha = _spin(1, 4096, 16)
        self.dropout = _dspin(0, 0.9, 0.0, 2, 0.05)
        self.targets = QLineEdit("all-linear")
        self.loraplus = _dspin(0, 64, 16.0, 1, 1.0)
        self.loraplus.setSpecialValueText("off")
        right.addRow("LoRA rank", self.rank)
        right.addRow("LoRA alpha", self.alpha)
        right.addRow("LoRA dropout", self.dropout)
        right.addRow("Target modules", self.targets)
        right.addRow("LoRA+ ratio", self.loraplus)
        right.addRow("Seed", self.seed)
        right.addRow("Checkpoint every", self.save_steps)
        grid.addLayout(left, 1)
        grid.addLayout(right, 1)
        outer.addWidget(hp)

        buttons = QHBoxLayout()
        self.reset = QPushButton("Paper recipe")
        self.reset.setToolTip("Reset every value to the paper's two-stage recipe")
        self.reset.clicked.connect(lambda: self.set_recipe(paper_recipe()))
        buttons.addWidget(self.reset)
        buttons.addStretch(1)
        outer.addLayout(buttons)

        for w in (self.trainer, self.optimizer, self.schedule):
            w.currentIndexChanged.connect(self.changed)
        for w in (self.lr, self.warmup, self.dropout, self.loraplus):
            w.valueChanged.connect(self.changed)
        for w in (self.seq_len, self.seed, self.max_steps, self.save_steps, self.rank, self.alpha):
            w.valueChanged.connect(self.changed)
        self.base.currentTextChanged.connect(self.data_changed)
        self.data.changed.connect(self.data_changed)
        self.stages.itemChanged.connect(self.data_changed)
        self.set_recipe(paper_recipe())

    def set_models(self, specs: list[tuple[str, str]]) -> None:
        """(label, spec) pairs for the base-model list; the typed text is kept."""
        current = self.base.currentText()
        self.base.blockSignals(True)
        self.base.clear()
        for label, spec in specs:
            self.base.addItem(spec, label)
        self.base.setEditText(current or "embedded")
        self.base.blockSignals(False)

    def set_recipe(self, r: Recipe) -> None:
        self.stages.blockSignals(True)
        self.stages.setRowCount(len(r.stages))
        for i, st in enumerate(r.stages):
            values = [st.name, ",".join(st.kinds), st.replay_from, f"{st.replay_share:g}", f"{st.epochs:g}",
                      str(st.batch_size), str(st.grad_accum)]
            for j, v in enumerate(values):
                self.stages.setItem(i, j, QTableWidgetItem(v))
        self.stages.blockSignals(False)
        self.trainer.setCurrentText(r.trainer)
        self.optimizer.setCurrentText(r.optimizer)
        self.lr.setValue(r.learning_rate)
        self.schedule.setCurrentText(r.schedule)
        self.warmup.setValue(r.warmup_ratio)
        self.seq_len.setValue(r.max_seq_len)
        self.seed.setValue(r.seed)
        self.max_steps.setValue(r.max_steps)
        self.save_steps.setValue(r.save_steps)
        self.rank.setValue(r.lora.rank)
        self.alpha.setValue(r.lora.alpha)
        self.dropout.setValue(r.lora.dropout)
        self.targets.setText(",".join(r.lora.target_modules))
        self.loraplus.setValue(r.lora.loraplus_lr_ratio)
        self.data_changed.emit()

    def recipe(self) -> Recipe:
        """The edited recipe, validated (RecipeError / ValueError with a message for the user)."""
        stages = []
        for i in range(self.stages.rowCount()):
            cell = [(self.stages.item(i, j).text().strip() if self.stages.item(i, j) else "")
                    for j in range(len(STAGE_COLUMNS))]
            try:
                stages.append(StageRecipe(cell[0], [k.strip() for k in cell[1].split(",") if k.strip()],
                                          replay_from=cell[2], replay_share=float(cell[3] or 0),
                                          epochs=float(cell[4]), batch_size=int(cell[5]), grad_accum=int(cell[6])))
            except ValueError as exc:
                raise ValueError(f"stage row {i + 1}: {exc}") from exc
        lora = LoraRecipe(rank=self.rank.value(), alpha=self.alpha.value(), dropout=self.dropout.value(),
                          target_modules=[t.strip() for t in self.targets.text().split(",") if t.strip()],
                          loraplus_lr_ratio=self.loraplus.value())
        return Recipe(stages=stages, lora=lora, optimizer=self.optimizer.currentText(),
                      learning_rate=self.lr.value(), schedule=self.schedule.currentText(),
                      warmup_ratio=self.warmup.value(), max_seq_len=self.seq_len.value(), seed=self.seed.value(),
                      max_steps=self.max_steps.value(), save_steps=self.save_steps.value(),
                      trainer=self.trainer.currentText()).validate()

    def set_stage_value(self, row: int, column: str, value: str) -> None:
        self.stages.setItem(row, STAGE_COLUMNS.index(column), QTableWidgetItem(value))
