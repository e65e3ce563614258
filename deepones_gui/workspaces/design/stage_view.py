"""One stage on screen: header, prompt and response, the code editor, and output/diff/log/chart tabs.

A pure view: the page hands it recorded steps and the session state; it never writes the store.
While it fills its panes ``loading`` is True, so the page can tell user edits from its own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.llm.degenerate import MODEL_LOOP, RETRY_LABEL
from backend.pipeline.errors import NO_SCORE, describe_error, traceback_frames
from backend.pipeline.state import CODE_STAGES, SessionState, Step
from deepones_gui.ideation.check_panel import CheckPanel
from deepones_gui.widgets.code_editor import CodePane
from deepones_gui.workspaces.design.check_tab import show_check
from deepones_gui.workspaces.design.widgets import DiffView, OutputView

__all__ = ["CODE_STAGES", "STAGE_HELP", "StageView"]
STAGE_HELP = {
    "propose": "The designer proposes a backbone architecture A_B for the task under its requirements.",
    "improve": "The designer improves A_B into A_I and gives reference code C_R.",
    "implement": "The programmer writes C_0; it runs on a small subset for one epoch (validation).",
    "debug": "The programmer fixes the failed program from its output, error and the debug log so far.",
    "validate": "Code you edited by hand, validated on the subset (no model call).",
    "hyperparameters": "The designer recommends hyperparameters H_O for the full run.",
    "final": "The programmer writes C_O (full data, H_O, time limits); it runs and its score is S.",
}


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    label = QLabel(title)
    label.setStyleSheet("font-weight: 600;")
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    box.title_label = label  # type: ignore[attr-defined]
    return box


class StageView(QWidget):
    def __init__(self, ctx, toolbar: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loading = False
        self.chart_job: str | None = None

        self.header = QLabel()
        self.header.setStyleSheet("font-size: 14pt; font-weight: 600;")
        self.help = QLabel()
        self.help.setWordWrap(True)
        self.help.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.help.setStyleSheet("color: palette(placeholder-text);")
        # Why a stage ended without a result (the app or the model was killed, a stop, a model error).
        self.reason = QLabel()
        self.reason.setObjectName("stopReason")
        self.reason.setWordWrap(True)
        self.reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reason.setStyleSheet("QLabel#stopReason { background: #fff7ed; color: #9a3412; border: 1px solid #fdba74;"
                                  " border-radius: 4px; padding: 4px 8px; }")
        self.reason.setVisible(False)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText("The prompt for this stage; edit it before sending.")
        self.response_edit = QPlainTextEdit()
        self.response_edit.setPlaceholderText("The model's answer streams here; you can edit it afterwards.")
        texts = QSplitter(Qt.Orientation.Horizontal)
        texts.addWidget(_titled("Prompt", self.prompt_edit))
        texts.addWidget(_titled("Response", self.response_edit))
        texts.setSizes([450, 550])

        self.code_pane = CodePane("Code appears here once the programmer answers.")
        self.code_box = _titled("Code", self.code_pane)
        self.output_view = OutputView()
        self.diff_view = DiffView()
        self.debug_log_view = QPlainTextEdit(readOnly=True)
        self.debug_log_view.setPlaceholderText("One line per debugging step: the problem and the fix.")
        self.hyper_table = QTableWidget(0, 2)
        self.hyper_table.setHorizontalHeaderLabels(["Hyperparameter", "Value"])
        self.hyper_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.hyper_table.verticalHeader().setVisible(False)
        self.chart_holder = QWidget()
        QVBoxLayout(self.chart_holder).setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.output_view, "Output")
        self.tabs.addTab(self.diff_view, "Diff")
        self.tabs.addTab(self.debug_log_view, "Debug log")
        self.tabs.addTab(self.chart_holder, "Chart")
        self.tabs.addTab(self.hyper_table, "Hyperparameters")
        self.check_panel = CheckPanel(ctx.data_dir)
        self.tabs.addTab(self.check_panel, "Check")
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.bottom.addWidget(self.code_box)
        self.bottom.addWidget(self.tabs)
        self.bottom.setSizes([520, 480])
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(texts)
        vsplit.addWidget(self.bottom)
        vsplit.setSizes([300, 460])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.help)
        layout.addWidget(self.reason)
        layout.addWidget(toolbar)
        layout.addWidget(vsplit, 1)
        self.output_view.line_activated.connect(self.code_pane.editor.go_to_line)

    @staticmethod
    def _set_text(edit: QPlainTextEdit, text: str) -> None:
        if edit.toPlainText() != text:
            edit.setPlainText(text)

    def show_next(self, state: SessionState, stage: str | None, prompt: str, title: str) -> None:
        """The stage not run yet: its prompt, editable, and the program it will work on.

        ``title`` is the selected rail item's ("Debug 2"): the header never names another stage.
        """
        self.loading = True
        try:
            self.header.setText(f"{title} — not run yet")
            self.reason.setVisible(False)
            self.help.setText(STAGE_HELP.get(stage or "", "") + "  Edit the prompt, then Run stage.")
            self._set_text(self.prompt_edit, prompt)
            self.prompt_edit.setReadOnly(False)
            self.response_edit.clear()
            self.response_edit.setReadOnly(True)
            uses_code = stage in ("debug", "hyperparameters", "final")
            self.code_pane.set_code(state.code if uses_code else "")
            self.code_pane.set_read_only(True)
            self.code_box.setVisible(True)
            self.code_box.title_label.setText("Current program C_i (read-only until a stage produces code)")
            self.bottom.setVisible(uses_code)
            self.output_view.clear()
            self.diff_view.clear()
            self.show_debug_log(state.debug_logs)
            self.show_hyper({})
            self.show_chart(None)
            show_check(self.check_panel, None, state)
        finally:
            self.loading = False

    def show_step(self, step: Step, state: SessionState, prompt: str, diff_base: tuple[Step, str] | None,
                  *, title: str, can_retry: bool = False) -> None:
        """A recorded step; ``prompt`` is its re-run draft or what was sent, ``diff_base`` the attempt before.

        ``title``: the selected rail item's; ``can_retry``: the step ended without a result and is the
        branch's tip ("Run again" in place).
        """
        from deepones_gui.context import describe_model

        self.loading = True
        try:
            status = step.status + (f" · {step.error_type}" if step.error_type else "")
            if step.score is not None:
                status += f" · score {step.score:g}"
            self.header.setText(f"{title} — {status}")
            model = f"  Model: {describe_model(step.model)}." if step.model else ""
            tokens = f"  {step.prompt_tokens or 0} prompt / {step.completion_tokens} answer tokens." \
                if step.completion_tokens else ""
            self.help.setText(STAGE_HELP.get(step.stage, "") + model + tokens)
            if step.unfinished:
                again = RETRY_LABEL if step.error_type == MODEL_LOOP else "Run again"
                then = f"  {again} runs it here, on this branch." if can_retry else ""
                self.reason.setText(f"Stopped: {step.why_stopped}{then}")
            caveat = step.status == "done" and bool(step.error_type) and bool(step.stderr)
            if caveat:   # done, with a caveat the table alone would hide (no hyperparameter read)
                self.reason.setText(f"⚠ {step.stderr}")
            elif step.error_type == NO_SCORE:
                # Jobs shows this run "succeeded" (the process exited 0): say why Design calls it failed.
                caveat = True
                self.reason.setText(f"Why failed: {describe_error(step.error_type)}.")
            self.reason.setVisible(step.unfinished or caveat)
            running = step.status == "running"
            self._set_text(self.prompt_edit, prompt)
            self.prompt_edit.setReadOnly(running or step.origin != "model")
            self._set_text(self.response_edit, step.response)
            self.response_edit.setReadOnly(running)
            has_code = step.stage in CODE_STAGES or step.stage == "improve"
            self.bottom.setVisible(has_code or step.stage == "hyperparameters")
            self.code_box.setVisible(has_code)
            if step.stage == "improve":
                self.code_box.title_label.setText("Reference code C_R (editable)")
                self.code_pane.set_code(step.reference_code or "")
            else:
                self.set_code_title(step)
                self.code_pane.set_code(step.code or "")
            self.code_pane.set_read_only(running)
            self.output_view.show_run(step.stdout or "", step.stderr or "")
            if diff_base is None or step.stage not in ("debug", "validate", "final"):
                self.diff_view.clear()
            else:
                before, code = diff_base
                self.diff_view.show_diff(code, step.code or "", before.title, step.title)
            upto = state.steps[: state.steps.index(step) + 1]
            self.show_debug_log([s.debug_log for s in upto if s.stage in ("debug", "validate") and s.debug_log])
            self.show_hyper(step.hyperparameters or {} if step.stage == "hyperparameters" else state.hyperparameters)
            if step.job_id != self.chart_job or step.job_id is None:
                self.show_chart(step.job_id)
            show_check(self.check_panel, step, state)
            if step.stage == "hyperparameters":
                self.tabs.setCurrentWidget(self.hyper_table)
            elif step.stage in CODE_STAGES:
                self.tabs.setCurrentWidget(self.output_view if step.error_type or running or step.unfinished else self.chart_holder)
                self.jump_to_error(step)
        finally:
            self.loading = False

    def set_code_title(self, step: Step) -> None:
        name = "C_O" if step.stage == "final" else f"C_{step.attempt}"
        self.code_box.title_label.setText(f"Program {name} · version {step.code_version + 1} (editable)")

    def append_response(self, text: str) -> None:
        self.loading = True
        try:
            cursor = self.response_edit.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(text)
        finally:
            self.loading = False

    def jump_to_error(self, step: Step) -> None:
        """Mark the program's line named last in the traceback, as a click on it would."""
        frames = [f for f in traceback_frames(step.stderr or "") if f.file.endswith("program.py")]
        if frames:
            self.code_pane.editor.go_to_line(frames[-1].line)

    def show_debug_log(self, logs: list[str]) -> None:
        self.debug_log_view.setPlainText("\n".join(f"L{i}. {line}" for i, line in enumerate(logs, 1)))

    def show_hyper(self, values: dict) -> None:
        self.hyper_table.setRowCount(0)
        for name, value in values.items():
            row = self.hyper_table.rowCount()
            self.hyper_table.insertRow(row)
            self.hyper_table.setItem(row, 0, QTableWidgetItem(str(name)))
            self.hyper_table.setItem(row, 1, QTableWidgetItem(str(value)))

    def show_chart(self, job_id: str | None, *, follow: bool = False) -> None:
        layout = self.chart_holder.layout()
        while layout.count():
            old = layout.takeAt(0).widget()
            if old is not None:
                if hasattr(old, "shutdown"):
                    old.shutdown()
                old.deleteLater()
        self.chart_job = job_id
        if not job_id:
            label = QLabel("The run's metrics are charted here once it has run.")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
            return
        from deepones_gui.workspaces.design.run_chart import make_run_chart

        layout.addWidget(make_run_chart(self.ctx, job_id, follow=follow))

    def shutdown(self) -> None:
        self.check_panel.shutdown()
        self.show_chart(None)  # stops a live chart's follower thread
