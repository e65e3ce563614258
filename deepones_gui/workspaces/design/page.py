"""The Design workspace: step through propose -> improve -> implement -> debug -> hyperparameters -> final run.

The page is a view over :mod:`backend.pipeline`: stages run on a pool thread (:mod:`.runs`) and
report events; the page renders the recorded steps and saves every edit (debounced, :mod:`.edits`)
as a new version in the store, so nothing typed is ever lost. A stage that ended without a result
(the app or the model was killed, a stop, a model error) says why and offers "Run again" in place.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
)

from backend.llm.degenerate import MODEL_LOOP, RETRY_LABEL
from backend.pipeline import PipelineFinished, SessionStore, Step
from backend.pipeline.runner import prepare_prompt
from backend.pipeline.state import CODE_STAGES, RUN_STAGES
from backend.recovery import InterruptedWork
from deepones_gui.workspaces.design.board_mode import BoardMode
from deepones_gui.workspaces.design.edits import EditQueue, StageEditing
from deepones_gui.workspaces.design.runs import StageRuns
from deepones_gui.workspaces.design.session_bar import SessionBar
from deepones_gui.workspaces.design.stage_view import StageView
from deepones_gui.workspaces.design.welcome import Welcome
from deepones_gui.workspaces.design.widgets import NEXT, StageRail
from deepones_gui.workspaces.page_protocol import WorkspacePage

log = logging.getLogger(__name__)
RUN_AGAIN = "Run again"


class DesignPage(BoardMode, StageEditing, WorkspacePage):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.setObjectName("DesignPage")
        self.ctx = ctx
        self.sessions = SessionStore(ctx.db)
        self.session_id: int | None = None
        self.state = None
        self.next_stage: str | None = None
        self.running_step_id: int | None = None
        self.shown: int | None = None       # a step id, NEXT, or None
        self.edits = EditQueue(lambda: QMessageBox.warning(self, "Design", "An edit could not be saved; see the log file."),
                               self)
        self.runs = StageRuns(ctx.db_path, Path(ctx.data_dir), self)
        self.runs.event.connect(self._on_event)
        self.runs.failed.connect(self._on_error)
        self.runs.done.connect(self._on_done)
        self._output_buffer: list[str] = []
        self._build()
        ctx.broadcast.connect(self.on_broadcast)
        self._restore()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.bar = SessionBar()
        self.session_combo, self.branch_combo, self.info = self.bar.session_combo, self.bar.branch_combo, self.bar.info
        self.settings_btn = self.bar.settings_btn
        self.bar.new_btn.clicked.connect(self.new_session_dialog)
        self.settings_btn.clicked.connect(self.session_settings_dialog)
        self.rail = StageRail()

        self.run_btn = QPushButton("Run stage")
        self.run_btn.setToolTip("Send the prompt shown (edited or not) and run this stage (Ctrl+Return)")
        self.accept_btn = QPushButton("Accept and next")
        self.accept_btn.setToolTip("Keep this result and show the next stage's prompt (Ctrl+Shift+Return)")
        self.run_all_btn = QPushButton("Run to the end")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the model call or the run in progress (Esc)")
        self.fork_btn = QPushButton("Fork from here")
        self.fork_btn.setToolTip("Start a new branch after this stage; the current branch is kept")
        self.run_code_btn = QPushButton("Run edited code")
        self.run_code_btn.setToolTip("Validate the code in the editor as it is, without a model call")
        buttons = QHBoxLayout()
        for btn in (self.run_btn, self.accept_btn, self.run_all_btn, self.stop_btn):
            buttons.addWidget(btn)
        buttons.addStretch(1)
        buttons.addWidget(self.run_code_btn)
        buttons.addWidget(self.fork_btn)
        self.run_btn.clicked.connect(self.run_stage)
        self.accept_btn.clicked.connect(self.accept_and_next)
        self.run_all_btn.clicked.connect(self.run_to_end)
        self.stop_btn.clicked.connect(self.stop)
        self.fork_btn.clicked.connect(self.fork_here)
        self.run_code_btn.clicked.connect(self.run_edited_code)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.run_stage)
        QShortcut(QKeySequence("Ctrl+Shift+Return"), self, self.accept_and_next)
        # Esc stops a run; only live while one runs, so it never steals Esc from the find bar.
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop)
        self.stop_shortcut.setEnabled(False)

        self.view = StageView(self.ctx, buttons)
        # The panes, by name, for the page's handlers (and tests).
        v = self.view
        self.header, self.help, self.prompt_edit, self.response_edit = v.header, v.help, v.prompt_edit, v.response_edit
        self.code_pane, self.code_box, self.output_view, self.diff_view = v.code_pane, v.code_box, v.output_view, v.diff_view
        self.hyper_table, self.chart_holder, self.tabs, self.reason = v.hyper_table, v.chart_holder, v.tabs, v.reason
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.rail)
        main.addWidget(self.view)
        main.setStretchFactor(1, 1)
        main.setSizes([200, 1000])
        main.setChildrenCollapsible(False)

        welcome = Welcome()
        welcome.new_btn.clicked.connect(self.new_session_dialog)
        welcome.demo_btn.clicked.connect(self.start_demo_session)
        self.body = QStackedWidget()
        self.body.addWidget(main)
        self.body.addWidget(welcome)
        self._build_board()   # the proposal board: a mode of the page (board_mode.py)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.body, 1)

        self.session_combo.activated.connect(lambda _i: self.open_session(self.session_combo.currentData()))
        self.branch_combo.activated.connect(self._branch_chosen)
        self.rail.currentItemChanged.connect(lambda *_: self._rail_changed())
        self.prompt_edit.textChanged.connect(self._prompt_edited)
        self.response_edit.textChanged.connect(self._response_edited)
        self.code_pane.edited.connect(self._code_edited)
        self.view.check_panel.send_back.connect(self.send_back_to_designer)

    def start_demo_session(self) -> int:
        from backend.pipeline import SessionSettings, get_task

        settings = SessionSettings(time_limit_s=300, train_time_limit_s=60,
                                   interpreter=self.ctx.settings.execution_python)
        return self.create_session(get_task("demo-digits"), self.ctx.settings.designer_model,
                                   self.ctx.settings.programmer_model, settings)

    # -- sessions ----------------------------------------------------------------------------
    def _restore(self) -> None:
        saved = QSettings().value("design/session")
        ids = [row["id"] for row in self.sessions.list_sessions()]
        try:
            wanted = int(saved) if saved is not None else None
        except (TypeError, ValueError):
            wanted = None
        self._fill_sessions()
        if wanted in ids:
            self.open_session(wanted, select=QSettings().value("design/selected"))
        elif ids:
            self.open_session(ids[0])
        else:
            self._show_empty()

    def _fill_sessions(self) -> None:
        self.bar.fill_sessions(self.sessions.list_sessions(), self.session_id)

    def _show_empty(self) -> None:
        self.body.setCurrentIndex(1)
        self.info.setText("No design session yet.")
        for w in (self.run_btn, self.accept_btn, self.run_all_btn, self.stop_btn, self.fork_btn, self.run_code_btn,
                  self.settings_btn, self.branch_combo, self.bar.board_btn):
            w.setEnabled(False)

    def new_session_dialog(self) -> int | None:
        from deepones_gui.workspaces.design.new_session import NewSessionDialog

        dialog = NewSessionDialog(self.ctx, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_value is None:
            return None
        task, designer, programmer, settings = dialog.result_value
        return self.create_session(task, designer, programmer, settings)

    def session_settings_dialog(self) -> bool:
        from deepones_gui.workspaces.design.new_session import NewSessionDialog

        if self.session_id is None or self.is_running():
            return False
        row = self.sessions.session_row(self.session_id)
        existing = (self.state.task, row["designer"], row["programmer"], self.state.settings)
        dialog = NewSessionDialog(self.ctx, self, existing=existing)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_value is None:
            return False
        self.apply_session_settings(*dialog.result_value[1:])
        return True

    def apply_session_settings(self, designer: str, programmer: str, settings) -> None:
        self.flush_edits()
        self.sessions.update_session(self.session_id, designer=designer, programmer=programmer, settings=settings)
        self.refresh()

    def create_session(self, task, designer: str, programmer: str, settings=None, title: str = "") -> int:
        self.flush_edits()
        sid = self.sessions.create_session(task, designer, programmer, settings, title)
        self._fill_sessions()
        self.open_session(sid)
        return sid

    def open_session(self, session_id: int | None, select=None) -> None:
        if session_id is None:
            return
        self.flush_edits()
        self.session_id = int(session_id)
        self.body.setCurrentIndex(0)
        if not self.is_running():
            # Steps left "running" by a process that is gone now say why they stopped.
            self.sessions.mark_interrupted(self.session_id)
        QSettings().setValue("design/session", self.session_id)
        self._fill_sessions()
        self.refresh(select=select)

    # -- rendering ---------------------------------------------------------------------------
    def refresh(self, select=None) -> None:
        """Re-read the session from the store and redraw the rail (keeping or setting the selection)."""
        if self.session_id is None:
            return
        state = self.state = self.sessions.state(self.session_id)
        nxt = self.next_stage = state.next_stage()
        retry = state.retry_step
        # A stage that ended without a result, or that is running, is itself the next thing to run:
        # no second "— next" item beside it.
        tip_is_next = retry is not None or state.running_step is not None
        self.rail.show_branch(state.steps, None if tip_is_next else nxt, state.debug_attempts + 1,
                              state.planned_after(nxt))
        self.bar.show_models(state, self.sessions.session_row(self.session_id))
        self.bar.fill_branches(self.sessions.leaves(self.session_id), state)
        wanted = select if select is not None else self.shown
        try:
            wanted = int(wanted) if wanted is not None else None
        except (TypeError, ValueError):
            wanted = None
        ids = {s.id for s in state.steps}
        if wanted not in ids and (wanted != NEXT or nxt is None or retry is not None):
            wanted = retry.id if retry else (NEXT if nxt is not None else (state.steps[-1].id if state.steps else None))
        self.shown = None  # force a redraw
        if wanted is not None:
            self.rail.select_data(wanted)
            self._rail_changed()
        if self.rail.selected_data() is None:
            self.header.setText("")   # nothing selected: no header left over from another step
        self._update_buttons()

    def _branch_chosen(self, index: int) -> None:
        leaf = self.branch_combo.itemData(index)
        if self.session_id is None or self.is_running():
            return
        self.flush_edits()
        self.sessions.fork(self.session_id, leaf or None)
        self.refresh(select=leaf or NEXT)

    def _step(self, step_id) -> Step | None:
        return next((s for s in self.state.steps if s.id == step_id), None) if self.state else None

    def _rail_changed(self) -> None:
        data = self.rail.selected_data()
        if data is None or data == self.shown:
            return
        self.flush_edits()
        self.shown = data
        QSettings().setValue("design/selected", data)
        if data == NEXT:
            stage, prompt = prepare_prompt(self.sessions, self.session_id, self.state, Path(self.ctx.data_dir))
            self.view.show_next(self.state, stage, prompt, self.rail.selected_title())
        elif (step := self._step(data)) is not None:
            self._show_step(step)
        self._update_buttons()

    def _show_step(self, step: Step) -> None:
        draft = self.sessions.draft(self.session_id, step.parent_id, step.stage)
        index = self.state.steps.index(step)
        before = next((s for s in reversed(self.state.steps[:index]) if s.stage in CODE_STAGES and s.code), None)
        # The previous attempt's code as it ran (its first version), against this attempt's code.
        diff_base = (before, self.sessions.original(before, "code")) if before is not None else None
        self.view.show_step(step, self.state, draft if draft is not None else step.prompt, diff_base,
                            title=self.rail.selected_title() or step.title, can_retry=self._is_retry(step))

    def _is_retry(self, step: Step | None) -> bool:
        retry = self.state.retry_step if self.state else None
        return step is not None and retry is not None and retry.id == step.id

    def _update_buttons(self) -> None:
        has_session = self.session_id is not None
        # A run here, or the branch's tip running in another window or `deepones design`.
        running = self.is_running() or bool(self.state and self.state.running_step)
        step = self._step(self.shown) if has_session and self.shown not in (None, NEXT) else None
        retry = self._is_retry(step)
        looped = retry and step is not None and step.error_type == MODEL_LOOP
        self.run_btn.setText("Run stage" if self.shown == NEXT else RETRY_LABEL if looped else RUN_AGAIN if retry
                             else "Re-run stage (new branch)")
        self.run_btn.setToolTip("Run it again here with a higher temperature and repeat penalty (Ctrl+Return)"
                                if looped else
                                "Run this stage again here, on the same branch (Ctrl+Return)" if retry else
                                "Send the prompt shown (edited or not) and run this stage (Ctrl+Return)")
        self.run_btn.setEnabled(has_session and not running and (
            self.shown == NEXT or retry or (step is not None and step.origin == "model" and step.finished)))
        # Accept needs a result to accept: a finished step with an answer (or, for a hand run, its code).
        has_result = step is not None and step.finished and bool(step.response.strip() or step.code)
        # On a finished branch (no next stage) the last step has nothing to go on to.
        row = self.rail.currentRow()
        after = self.rail.item(row + 1) if row >= 0 else None
        has_next = after is not None and bool(after.flags() & Qt.ItemFlag.ItemIsEnabled)
        self.accept_btn.setEnabled(has_session and not running and has_result and has_next)
        self.accept_btn.setToolTip("Keep this result and show the next stage's prompt (Ctrl+Shift+Return)"
                                   if has_next or not has_result else
                                   "This branch is finished: there is no next stage to go on to")
        self.run_all_btn.setEnabled(has_session and not running and self.next_stage is not None)
        self.stop_btn.setEnabled(self.is_running())
        self.settings_btn.setEnabled(has_session and not running)
        self.bar.board_btn.setEnabled(has_session)
        self.stop_shortcut.setEnabled(self.is_running())
        self.fork_btn.setEnabled(has_session and not running and step is not None and step.finished)
        # Edited code runs after a step that ran (one that ended without a result runs again instead).
        self.run_code_btn.setEnabled(has_session and not running and step is not None and step.finished
                                     and step.stage in RUN_STAGES and bool(self.code_pane.code().strip()))

    # -- actions -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.runs.running

    def run_stage(self) -> None:
        """Run the stage shown: the next one, an unfinished one again in place, or a re-run on a new branch."""
        if self.session_id is None or self.is_running() or not self.run_btn.isEnabled():
            return
        prompt = self.prompt_edit.toPlainText()
        self.flush_edits()
        if self.shown != NEXT:
            step = self._step(self.shown)
            if step is None:
                return
            if not self._is_retry(step):
                self.sessions.fork(self.session_id, step.parent_id)  # re-run: a sibling branch
            elif step.error_type == MODEL_LOOP:
                self.sessions.loosen_sampling(self.session_id)  # the same settings would likely loop again
        self._start(lambda runner: runner.run_stage(prompt))

    def run_to_end(self) -> None:
        if self.session_id is None or self.is_running():
            return
        prompt = self.prompt_edit.toPlainText() if self.shown == NEXT or self._is_retry(self._step(self.shown)) else None
        self.flush_edits()

        def work(runner):
            if prompt is not None:
                step = runner.run_stage(prompt)
                if step.status in ("error", "stopped") or runner.cancel.is_set():
                    return step
            return runner.run_until()

        self._start(work)

    def run_edited_code(self) -> None:
        step = self._step(self.shown) if self.shown not in (None, NEXT) else None
        if step is None or self.is_running():
            return
        code = self.code_pane.code()
        self.flush_edits()
        self.sessions.fork(self.session_id, step.id)
        self._start(lambda runner: runner.run_code(code))

    def accept_and_next(self) -> None:
        if self.is_running() or self.shown in (None, NEXT) or not self.accept_btn.isEnabled():
            return
        self.flush_edits()
        row = self.rail.currentRow()
        nxt = self.rail.item(row + 1)
        if nxt is not None and nxt.flags() & Qt.ItemFlag.ItemIsEnabled:
            self.rail.setCurrentRow(row + 1)

    def fork_here(self) -> None:
        step = self._step(self.shown) if self.shown not in (None, NEXT) else None
        if step is None or self.is_running():
            return
        self.flush_edits()
        self.sessions.fork(self.session_id, step.id)
        self.refresh(select=NEXT)

    def stop(self) -> None:
        if self.is_running():
            self.runs.stop()

    def _start(self, action) -> None:
        self.runs.start(self.session_id, action)
        self._update_buttons()

    def _on_event(self, session_id: int, kind: str, payload) -> None:
        if session_id != self.session_id:
            return
        if kind == "step":
            step: Step = payload["step"]
            self.running_step_id = step.id if step.status == "running" else None
            self.refresh(select=step.id)
        elif kind == "chunk" and self.shown == payload["step_id"]:
            self.view.append_response(payload["text"])
        elif kind == "running" and self.shown == payload["step_id"]:
            self.output_view.clear()
            self.tabs.setCurrentWidget(self.output_view)
            self.header.setText(self.header.text().split(" — ")[0] + " — running the program…")
            self.view.show_chart(payload["job_id"], follow=True)   # the event names the job: chart it live
        elif kind == "output" and self.shown == payload["step_id"]:
            self._output_buffer.append(payload["text"])
            if len(self._output_buffer) == 1:   # live output comes in small pieces: one append per 100 ms
                QTimer.singleShot(100, self._flush_output)
        elif kind == "session":
            self._fill_sessions()

    def _flush_output(self) -> None:
        text, self._output_buffer = "".join(self._output_buffer), []
        if text and self.running_step_id is not None and self.shown == self.running_step_id:
            self.output_view.append_output(text)

    def _on_error(self, exc: BaseException, tb: str) -> None:
        if isinstance(exc, PipelineFinished):
            QMessageBox.information(self, "Design", str(exc))
            return
        log.error("design stage failed: %s", tb)
        QMessageBox.warning(self, "Design", f"The stage could not run: {exc}")

    def _on_done(self, session_id: int) -> None:
        self.running_step_id = None
        if session_id == self.session_id:
            self.refresh()
            self._fill_sessions()
        self._update_buttons()

    # -- cross-workspace ---------------------------------------------------------------------
    def on_broadcast(self, name: str, payload) -> None:
        if name == "open_design_session" and isinstance(payload, dict) and payload.get("session_id"):
            # e.g. Traces' "Fork into Design": a session made elsewhere, shown here.
            self.open_session(int(payload["session_id"]))
            return
        if name == "compare_in_design" and isinstance(payload, dict) and str(payload.get("prompt", "")).strip():
            self.compare_from_chat(str(payload["prompt"]))
            return
        if name != "send_to_design" or not isinstance(payload, dict):
            return
        current = self.state.task.name if self.session_id is not None and self.state else "demo-digits"
        task_name = self.choose_task(current)
        if task_name is None:
            return   # the user cancelled: nothing is created
        self.seed_from_chat(payload.get("text", ""), payload.get("code", ""), task_name)
        window = self.ctx.window
        if window is not None and hasattr(window, "show_workspace"):
            window.show_workspace("design")

    def choose_task(self, current: str) -> str | None:
        """Which task a chat answer is a design for (the open session's preselected); None: cancelled."""
        from deepones_gui.workspaces.design.new_session import ask_task

        return ask_task(self, current)

    def seed_from_chat(self, text: str, code: str = "", task_name: str = "demo-digits") -> int:
        """A new session for ``task_name`` seeded with a chat answer: the proposal (and C_R if code came too)."""
        from backend.pipeline import get_task
        from backend.pipeline.seed import seed_from_chat

        self.flush_edits()
        task = get_task(task_name)
        settings = self.ctx.settings
        sid = seed_from_chat(self.sessions, task, settings.designer_model, settings.programmer_model, text, code)
        self._fill_sessions()
        self.open_session(sid, select=NEXT)
        return sid

    def send_back_to_designer(self, note: str) -> None:
        """The model check's note goes into the designer's prompt (see design.check_tab)."""
        from deepones_gui.workspaces.design.check_tab import send_back_to_designer

        self.info.setText(send_back_to_designer(self, note))

    # -- lifecycle ---------------------------------------------------------------------------
    def can_close(self) -> bool:
        if not self.is_running() and not self.board.is_running():
            return True
        answer = QMessageBox.question(self, "Design", "A stage or the proposal board is still running. Stop it and close?")
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        self.flush_edits()
        self.view.shutdown()
        self.runs.close()
        self.board.shutdown()

    def ready(self) -> bool:
        return not self.is_running()

    def open_item(self, item: InterruptedWork) -> bool:
        if item.kind != "design":
            return False
        self.open_session(item.target["session_id"])
        return True

    def hideEvent(self, event) -> None:  # noqa: N802
        self.flush_edits()
        super().hideEvent(event)
