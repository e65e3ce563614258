"""The model check in the app: "Check model" runs the check job off the GUI thread (Cancel stops it),
then shows each measure next to the task's requirement in green/amber/red, the reasons, the diagram,
and "Send back to designer" with the numbers. Used by Design's stage view and Chat's "Check"."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.ideation.result import CheckRequest, CheckResult
from backend.ideation.verdict import rows, send_back_message
from deepones_gui.concurrent import run_in_background
from deepones_gui.ideation.diagram_view import DiagramView

COLOURS = {"green": ("#dafbe1", "#116329"), "amber": ("#fff8c5", "#7d4e00"), "red": ("#ffebe9", "#a40e26")}


class CheckRunner(QObject):
    """Owns one check at a time (a job of its own; not parked on the shared pool's other work)."""

    finished = Signal(object)     # CheckResult
    failed = Signal(str)          # the check could not even be started: a one-line message

    def __init__(self, root: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.task = None
        self._cancel: threading.Event | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, code: str, request: CheckRequest) -> None:
        from backend.ideation.check import check_program

        stop = self._cancel = threading.Event()
        outcome: dict = {}

        def work(*, progress, partial, cancel) -> CheckResult:
            return check_program(code, request, root=self.root, cancel=stop, origin="design:check")

        def done() -> None:
            # Reported once the task is over, so whoever listens sees the runner idle.
            self.task = None
            if "result" in outcome:
                self.finished.emit(outcome["result"])
            else:
                self.failed.emit(outcome.get("error", "The check stopped without a result."))

        self.task = run_in_background(
            work, owner=self, on_done=done,
            on_result=lambda result: outcome.__setitem__("result", result),
            on_error=lambda exc, tb: outcome.__setitem__("error", f"The check could not run: {exc}"))

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()


class CheckPanel(QWidget):
    """Check a program against a request; shows the result and the diagram."""

    send_back = Signal(str)       # the note for the designer
    result_changed = Signal(object)

    def __init__(self, root: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code = ""
        self.request: CheckRequest | None = None
        self.result: CheckResult | None = None
        self.coarse: dict | None = None
        self._input_text = ""
        self.runner = CheckRunner(root, self)
        self.runner.finished.connect(self._show_result)
        self.runner.failed.connect(self._show_failure)

        self.check_btn = QPushButton("Check model")
        self.check_btn.setToolTip("Build the model in a sandboxed job and run one training step on a dummy batch "
                                  "of the task's input (the program's training never runs)")
        self.check_btn.clicked.connect(self.start_check)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.runner.cancel)
        self.send_btn = QPushButton("Send back to designer")
        self.send_btn.setToolTip("Put the numbers and what to change into the designer's prompt")
        self.send_btn.clicked.connect(lambda: self.result and self.send_back.emit(send_back_message(self.result)))
        self.input_label = QLabel()
        self.input_label.setStyleSheet("color: palette(placeholder-text);")
        self.input_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head = QHBoxLayout()
        head.addWidget(self.check_btn)
        head.addWidget(self.cancel_btn)
        head.addStretch(1)
        head.addWidget(self.send_btn)

        self.verdict = QLabel()
        self.verdict.setObjectName("checkVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Measure", "Measured", "Requirement"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMinimumHeight(22 * 5 + 28)     # the five measures without scrolling
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.diagram = DiagramView(title="Diagram")
        numbers = QWidget()
        box = QVBoxLayout(numbers)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.input_label)
        box.addWidget(self.verdict)
        box.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(numbers)
        split.addWidget(self.diagram)
        split.setSizes([260, 240])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(split, 1)
        self.set_program("", None)

    # -- inputs --------------------------------------------------------------------------------
    def set_program(self, code: str, request: CheckRequest | None, *, why_not: str = "",
                    coarse: dict | None = None) -> None:
        """What "Check model" checks; ``why_not`` says why there is nothing to check yet; ``coarse``
        is the designer's DeepData view, drawn until a check gives the traced one."""
        changed = code != self.code or request != self.request or coarse != self.coarse
        self.code, self.request, self.coarse = code, request, coarse
        if request is not None:
            shape = "x".join(str(n) for n in request.input_shape)
            self._input_text = (f"Input {shape} ({request.dtype}), batch {request.batch_size}"
                                + (f" · task {request.task_name}" if request.task_name else ""))
        else:
            self._input_text = ""
        self.input_label.setText(self._input_text)
        if (changed or self.result is None) and not self.runner.running:
            self._clear(why_not or "Check the model to see its size, memory and speed against the requirements.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.runner.running
        self.check_btn.setEnabled(not running and bool(self.code.strip()) and self.request is not None)
        self.cancel_btn.setEnabled(running)
        self.send_btn.setEnabled(not running and self.result is not None and self.result.verdict != "green")

    # -- the check -----------------------------------------------------------------------------
    def start_check(self) -> None:
        if self.runner.running or self.request is None or not self.code.strip():
            return
        self._clear("Checking… (building the model in a sandboxed job)")
        self.runner.start(self.code, self.request)
        self._update_buttons()

    def is_running(self) -> bool:
        return self.runner.running

    def _clear(self, message: str) -> None:
        self.result = None
        self.verdict.setText(message)
        self.verdict.setStyleSheet("QLabel#checkVerdict { padding: 4px 8px; }")
        self.table.setRowCount(0)
        self.diagram.set_diagram(self.coarse)

    def _show_failure(self, message: str) -> None:
        self._clear(message)
        self._update_buttons()

    def _show_result(self, result: CheckResult) -> None:
        self.result = result
        back, fore = COLOURS.get(result.verdict, COLOURS["red"])
        self.verdict.setStyleSheet(f"QLabel#checkVerdict {{ background: {back}; color: {fore}; border-radius: 4px;"
                                   " padding: 4px 8px; font-weight: 600; }")
        self.verdict.setText(f"{result.verdict.upper()}: " + "; ".join(result.reasons))
        if result.ok:
            self.input_label.setText(f"{self._input_text} · {result.model} ({result.found_by}) on "
                                     f"{result.device_name or result.device}")
        self.table.setRowCount(0)
        if result.ok:
            from backend.ideation.result import CheckLimits

            for row in rows(result, CheckLimits(**result.limits)):
                self._add_row(row.label, row.measured, row.requirement, row.level, row.reason)
        elif result.traceback or result.error:
            self._add_row("Error", result.error or result.status, "", "red", result.traceback[-3000:])
        self.diagram.set_diagram(result.diagram)
        self._update_buttons()
        self.result_changed.emit(result)

    def _add_row(self, label: str, measured: str, requirement: str, level: str, tip: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate((label, measured, requirement)):
            item = QTableWidgetItem(text)
            item.setToolTip(tip or text)     # the whole text where the column is too narrow
            if level and col > 0:
                back, fore = COLOURS[level]
                item.setBackground(QBrush(QColor(back)))
                item.setForeground(QBrush(QColor(fore)))
            self.table.setItem(row, col, item)

    def shutdown(self) -> None:
        self.runner.cancel()
