"""The Generate inputs: papers (files, a folder, a manifest), an optional repository, the designer
model, the dataset, the MCQ share, concurrency, prices, Ray — read into a Qt-free GeneratePlan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.generate.plan import GeneratePlan
from deepones_gui.workspaces.chat.model_picker import ModelPicker

PAPER_FILTER = "Papers (*.tex *.tar.gz *.tgz *.gz *.pdf *.jsonl *.json);;All files (*)"


def _browse_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class GenerateForm(QWidget):
    """``changed`` fires on any edit that changes the plan (the page re-estimates after a pause)."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.papers = QListWidget()
        self.papers.setToolTip(
            "Papers: .tex files, LaTeX folders, arXiv e-prints (.tar.gz), PDFs, unarXive JSONL "
            "or a folder holding many. Delete removes the selected ones."
        )
        self.papers.setMinimumHeight(70)
        self.papers.setMaximumHeight(110)
        col.addWidget(self.papers)
        buttons = QHBoxLayout()
        self.add_files = QPushButton("Add files…")
        self.add_folder = QPushButton("Add folder…")
        self.remove = QPushButton("Remove")
        self.remove.setEnabled(False)
        for b in (self.add_files, self.add_folder, self.remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        col.addLayout(buttons)
        self.add_files.clicked.connect(self._choose_files)
        self.add_folder.clicked.connect(self._choose_folder)
        self.remove.clicked.connect(self.remove_selected)
        self.papers.itemSelectionChanged.connect(
            lambda: self.remove.setEnabled(bool(self.papers.selectedItems()))
        )

        form = QFormLayout()
        form.setContentsMargins(0, 4, 0, 0)
        self.manifest = QLineEdit()
        self.manifest.setPlaceholderText("optional: JSONL/CSV of paper, repository")
        manifest_button = QPushButton("Browse…")
        manifest_button.setToolTip("Choose a manifest file")
        manifest_button.clicked.connect(self._choose_manifest)
        form.addRow("Manifest", _browse_row(self.manifest, manifest_button))
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("optional: the paper's code (folder, .zip, URL)")
        repo_button = QPushButton("Browse…")
        repo_button.setToolTip("Choose the repository folder")
        repo_button.clicked.connect(self._choose_repo)
        form.addRow("Repository", _browse_row(self.repo, repo_button))
        self.picker = ModelPicker()
        form.addRow(self.picker)
        self.dataset = QLineEdit()
        self.dataset.setPlaceholderText("the dataset the samples land in (Data)")
        form.addRow("Dataset", self.dataset)
        self.mcq_share = QDoubleSpinBox()
        self.mcq_share.setRange(0.0, 100.0)
        self.mcq_share.setDecimals(1)
        self.mcq_share.setSuffix(" % of papers")
        self.mcq_share.setToolTip(
            "Share of papers that also get DeepQA multiple-choice questions (the paper: 1%)"
        )
        form.addRow("MCQs", self.mcq_share)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 256)
        self.concurrency.setToolTip(
            "Requests in flight at once (endpoints); a local model answers one at a time"
        )
        form.addRow("Concurrency", self.concurrency)
        prices = QHBoxLayout()
        self.price_in, self.price_out = QDoubleSpinBox(), QDoubleSpinBox()
        for box, what in ((self.price_in, "prompt"), (self.price_out, "completion")):
            box.setRange(0.0, 1000.0)
            box.setDecimals(2)
            box.setSpecialValueText("—")
            box.setToolTip(f"Price per million {what} tokens, for the cost estimate (— = no price)")
            prices.addWidget(box, 1)
        form.addRow("Price / 1M in, out", prices)
        self.use_ray = QCheckBox("Run on the Ray cluster (Bench ▸ Ray settings)")
        form.addRow(self.use_ray)
        col.addLayout(form)

        for signal in (
            self.manifest.textChanged,
            self.repo.textChanged,
            self.dataset.textChanged,
            self.mcq_share.valueChanged,
            self.concurrency.valueChanged,
            self.price_in.valueChanged,
            self.price_out.valueChanged,
            self.use_ray.toggled,
            self.picker.spec_changed,
        ):
            signal.connect(lambda *_: self.changed.emit())

    # -- papers -------------------------------------------------------------------------------------
    def add_papers(self, items: list[str]) -> None:
        have = {self.papers.item(i).text() for i in range(self.papers.count())}
        for item in items:
            if item and item not in have:
                self.papers.addItem(item)
                have.add(item)
        self.changed.emit()

    def remove_selected(self) -> None:
        for item in self.papers.selectedItems():
            self.papers.takeItem(self.papers.row(item))
        self.changed.emit()

    def _start_dir(self) -> str:
        first = self.papers.item(0).text() if self.papers.count() else ""
        return str(Path(first).parent) if first else str(Path.home())

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add papers", self._start_dir(), PAPER_FILTER)
        self.add_papers(files)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of papers", self._start_dir())
        if folder:
            self.add_papers([folder])

    def _choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Manifest", self._start_dir(), "Manifests (*.jsonl *.csv)"
        )
        if path:
            self.manifest.setText(path)

    def _choose_repo(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "The paper's repository", self._start_dir())
        if folder:
            self.repo.setText(folder)

    # -- plan <-> widgets ---------------------------------------------------------------------------
    def plan(self) -> GeneratePlan:
        return GeneratePlan(
            papers=[self.papers.item(i).text() for i in range(self.papers.count())],
            repo=self.repo.text().strip(),
            manifest=self.manifest.text().strip(),
            model=self.picker.current_spec(),
            dataset=self.dataset.text().strip(),
            mcq_share=round(self.mcq_share.value() / 100, 4),
            concurrency=self.concurrency.value(),
            price_in=self.price_in.value() or None,
            price_out=self.price_out.value() or None,
            use_ray=self.use_ray.isChecked(),
        )

    def set_plan(self, plan: GeneratePlan) -> None:
        self.blockSignals(True)
        try:
            self.papers.clear()
            self.add_papers(plan.papers)
            self.repo.setText(plan.repo)
            self.manifest.setText(plan.manifest)
            if plan.model:
                self.picker.select(plan.model)
            self.dataset.setText(plan.dataset)
            self.mcq_share.setValue(plan.mcq_share * 100)
            self.concurrency.setValue(plan.concurrency)
            self.price_in.setValue(plan.price_in or 0.0)
            self.price_out.setValue(plan.price_out or 0.0)
            self.use_ray.setChecked(plan.use_ray)
        finally:
            self.blockSignals(False)
        self.changed.emit()
