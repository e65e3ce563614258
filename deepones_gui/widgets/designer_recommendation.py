""" "Recommended designer for this machine": the machine's RAM, VRAM and free disk, the GGUF that fits
(:mod:`backend.llm.recommend`), and a Pull button that downloads it from the hub with progress and Cancel.

Shown by the first-run wizard and the Models workspace; ``pulled`` carries the new model's spec so the
page can make it the designer.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from backend.units import format_bytes
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.models.tasks import pull as pull_task


def _probe(*, progress, partial, cancel) -> dict:
    from backend.llm.recommend import probe_machine, recommend

    return recommend(probe_machine()).to_dict()


class DesignerRecommendation(QGroupBox):
    pulled = Signal(str)  # the spec (file path) of the downloaded model

    def __init__(self, parent: QWidget | None = None, *, probe: bool = True) -> None:
        super().__init__("Recommended designer for this machine", parent)
        self.recommendation: dict | None = None
        self._task = None
        lay = QVBoxLayout(self)
        self.machine = QLabel("Reading this machine's RAM, GPU and disk…")
        self.machine.setWordWrap(True)
        self.machine.setStyleSheet("color: palette(dark);")
        lay.addWidget(self.machine)
        row = QHBoxLayout()
        self.model = QLabel("–")
        self.model.setWordWrap(True)
        row.addWidget(self.model, 1)
        self.pull_button = QPushButton("Pull")
        self.pull_button.setEnabled(False)
        self.pull_button.setToolTip("Download this GGUF from the Hugging Face hub and use it as the designer")
        self.pull_button.clicked.connect(self.pull)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.pull_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.status = QLabel("Or use an OpenAI-compatible endpoint (URL#model) and press Test.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: palette(dark);")
        lay.addWidget(self.status)
        if probe:
            run_in_background(
                _probe, on_result=self.show_recommendation, on_error=self._probe_failed, owner=self
            )

    def _probe_failed(self, exc: BaseException, _tb: str) -> None:
        self.machine.setText(f"Could not read this machine: {exc}")

    def show_recommendation(self, rec: dict) -> None:
        from backend.llm.recommend import Machine

        self.recommendation = rec
        self.machine.setText(Machine(**rec["machine"]).text())
        model = rec["model"]
        if model is None:
            self.model.setText(f"No model to pull: {rec['reason']}.")
            self.pull_button.setEnabled(False)
            return
        self.model.setText(
            f"<b>{model['label']}</b> · {format_bytes(model['size_bytes'])} download · "
            f"{rec['reason']}<br><span style='color: palette(dark)'>{model['repo_id']}</span>"
        )
        self.pull_button.setEnabled(bool(rec["fits_disk"]))
        self.pull_button.setText(f"Pull {format_bytes(model['size_bytes'])}")

    def pull(self) -> None:
        model = (self.recommendation or {}).get("model")
        if not model or self._task is not None:
            return
        self.pull_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(f"Asking the hub for {model['repo_id']}…")
        self._task = run_in_background(
            pull_task,
            model["repo_id"],
            model["filename"],
            owner=self,
            on_progress=self._progressed,
            on_result=self._pulled,
            on_error=self._failed,
            on_cancelled=self._cancelled,
            on_done=self._idle,
        )

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _progressed(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(text)

    def _pulled(self, files: list[str]) -> None:
        self.progress.setValue(1000)
        spec = files[0]
        self.status.setText(f"✓ Downloaded {Path(spec).name}; it is now the designer.")
        self.pulled.emit(spec)

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.status.setText(f"⚠ {exc}")

    def _cancelled(self) -> None:
        self.status.setText("Cancelled. Pull again to resume where it stopped.")

    def _idle(self) -> None:
        self._task = None
        self.cancel_button.setEnabled(False)
        self.pull_button.setEnabled(bool(self.recommendation and self.recommendation.get("fits_disk")))
