"""Bench > Ray cluster: where sweeps with the ``ray`` executor run their programs, and how."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from backend.bench.ray_cluster import RaySettings
from deepones_gui.concurrent import run_in_background


def _resources(address: str, *, progress, partial, cancel) -> dict[str, float]:
    from backend.bench.ray_cluster import cluster_resources

    return cluster_resources(address)


def _spin(value: float, top: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, top)
    box.setSingleStep(0.5)
    box.setDecimals(1)
    box.setValue(value)
    return box


class RaySettingsDialog(QDialog):
    """Edits ``<data dir>/bench/ray.json``; Test asks the cluster for its resources off the GUI thread."""

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.setWindowTitle("Ray cluster")
        self.setMinimumWidth(560)
        s = RaySettings.load(root)
        self.address = QLineEdit(s.address)
        self.address.setPlaceholderText("http://HEAD:8265")
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip("Ask the cluster's dashboard for its CPUs and GPUs")
        address_row = QWidget()
        row = QHBoxLayout(address_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.address, 1)
        row.addWidget(self.test_button)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.cpus = _spin(s.num_cpus, 256)
        self.gpus = _spin(s.num_gpus, 16)
        self.gpus.setToolTip("GPUs each run asks for; a task that needs a GPU is refused on a cluster without")
        self.python = QLineEdit(s.python)
        self.python.setToolTip("The interpreter on the nodes that runs the supervisor and the program")
        self.pip = QLineEdit(" ".join(s.pip or []))
        self.pip.setPlaceholderText("packages Ray installs for the programs, e.g. torch torchvision")
        self.conda = QLineEdit(s.conda or "")
        self.conda.setPlaceholderText("or an existing conda env on the nodes")
        self.standby = QCheckBox("Keep a job started ahead for the next run")
        self.standby.setChecked(s.standby)
        self.standby.setToolTip("Saves Ray's job start (seconds) on every run; the waiting job holds its "
                                "CPUs/GPUs until the next run or the sweep's end")
        self._settings = s
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Cluster address:", address_row)
        form.addRow("", self.result)
        form.addRow("CPUs per run:", self.cpus)
        form.addRow("GPUs per run:", self.gpus)
        form.addRow("Node Python:", self.python)
        form.addRow("pip packages:", self.pip)
        form.addRow("Conda env:", self.conda)
        form.addRow("", self.standby)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.test)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def edited(self) -> RaySettings:
        s = self._settings
        return RaySettings(address=self.address.text().strip(), num_cpus=self.cpus.value(),
                           num_gpus=self.gpus.value(), python=self.python.text().strip(),
                           pip=self.pip.text().replace(",", " ").split() or None,
                           conda=self.conda.text().strip() or None, lost_after_s=s.lost_after_s,
                           standby=self.standby.isChecked(), standby_idle_s=s.standby_idle_s)

    def test(self) -> None:
        settings = self.edited()
        if settings.problem():
            self.result.setText(f"✗ {settings.problem()}")
            return
        self.result.setText(f"Asking {settings.address}…")
        self.test_button.setEnabled(False)
        run_in_background(_resources, settings.address, on_result=self._tested,
                          on_error=lambda exc, _tb: self.result.setText(f"✗ {exc}"),
                          on_done=lambda: self.test_button.setEnabled(True))

    def _tested(self, resources: dict[str, float]) -> None:
        self.result.setText(f"✓ reachable: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs")

    def accept(self) -> None:
        settings = self.edited()
        if settings.problem():
            self.result.setText(f"✗ {settings.problem()}")
            return
        settings.save(self.root)
        super().accept()
