"""GPU monitor: NVML readings every ~2 s off the GUI thread, plus what a selected job recorded."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from backend import gpu
from backend.jobs.records import job_gpu_summary
from deepones_gui.concurrent import run_in_background

REFRESH_MS = 2000


def _sample(*, progress, partial, cancel):
    return gpu.sample_gpus(), gpu.nvml_status()


class GpuPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.box = QGroupBox("GPUs (NVML, every 2 s)")
        self.grid = QGridLayout(self.box)
        lay.addWidget(self.box)
        self.none_label = QLabel("Checking for NVIDIA GPUs…")
        self.none_label.setWordWrap(True)
        self.none_label.setStyleSheet("color:#666; padding:8px;")
        self.grid.addWidget(self.none_label, 0, 0, 1, 5)
        self.job_label = QLabel("")
        self.job_label.setWordWrap(True)
        self.job_label.setStyleSheet("color:#444; padding:4px;")
        lay.addWidget(self.job_label)
        lay.addStretch(1)
        self.rows: list[tuple] = []
        self.available: bool | None = None
        self._busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        run_in_background(_sample, on_result=self._show, on_done=self._done)

    def _done(self) -> None:
        self._busy = False

    def _show(self, result) -> None:
        samples, status = result
        self.available = bool(samples)
        if not samples:
            self.none_label.setText(f"No NVIDIA GPU: jobs run on the CPU. ({status})"
                                    if status != "available" else "No NVIDIA GPU found.")
            self.none_label.setVisible(True)
            return
        self.none_label.setVisible(False)
        while len(self.rows) < len(samples):
            r = len(self.rows) + 1
            name, util, mem, temp, power = QLabel(), QProgressBar(), QProgressBar(), QLabel(), QLabel()
            for bar in (util, mem):
                bar.setRange(0, 100)
                bar.setTextVisible(True)
            for col, w in enumerate((name, util, mem, temp, power)):
                self.grid.addWidget(w, r, col)
            self.rows.append((name, util, mem, temp, power))
        for g, (name, util, mem, temp, power) in zip(samples, self.rows, strict=False):
            name.setText(f"<b>{g.index}</b> {g.name}")
            util.setValue(int(g.utilization_pct or 0))
            util.setFormat(f"util {g.utilization_pct or 0:.0f}%")
            mem.setValue(int(100 * g.memory_used_mb / max(g.memory_total_mb, 1)))
            mem.setFormat(f"{g.memory_used_mb / 1024:.1f} / {g.memory_total_mb / 1024:.0f} GB")
            temp.setText("—" if g.temperature_c is None else f"{g.temperature_c:.0f} °C")
            power.setText("—" if g.power_w is None else f"{g.power_w:.0f} W")
            temp.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def show_job(self, workdir: Path | None) -> None:
        self.job_label.setText(job_gpu_summary(workdir) if workdir else "")

    def shutdown(self) -> None:
        self.timer.stop()
