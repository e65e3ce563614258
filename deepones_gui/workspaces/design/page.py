"""The Design workspace: step through propose -> improve -> implement -> debug -> hyperparameters -> final run.

A view over one :class:`backend.pipeline.controller.DesignSession` (the session, its branch, what is
shown, the rules): the page lays out child widgets, connects their signals and draws what the
controller holds. Stages run on a thread of their own (:mod:`.runs`); the step an event carries is
put in place in memory (the branch is read in full only when a session opens, after a fork and when
a run ends). Every edit is saved (debounced, :mod:`.edit_queue`) as a new version in the store. The
proposal board (:mod:`.proposal_board`) is a widget of its own in the page's body stack.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
)

from backend.pipeline import PipelineFinished, SessionStore, Step
from backend.pipeline.controller import NEXT, RUN_AGAIN, DesignSession, Save
from backend.recovery import InterruptedWork
from deepones_gui.workspaces.design.edit_queue import EditQueue
from deepones_gui.workspaces.design.proposal_board import ProposalBoardView
from deepones_gui.workspaces.design.runs import StageRuns
from deepones_gui.workspaces.design.session_bar import SessionBar
from deepones_gui.workspaces.design.stage_buttons import StageButtons
from deepones_gui.workspaces.design.stage_view import StageView
from deepones_gui.workspaces.design.welcome import Welcome
from deepones_gui.workspaces.design.widgets import StageRail
from deepones_gui.workspaces.page_protocol import WorkspacePage

__all__ = ["RUN_AGAIN", "DesignPage"]
log = logging.getLogger(__name__)


class DesignPage(WorkspacePage):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.setObjectName("DesignPage")
        self.ctx = ctx
        self.sessions = SessionStore(ctx.db)
        self.session = DesignSession(self.sessions, Path(ctx.data_dir))
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

    # What the controller holds, by the names the page's callers (and tests) use.
    session_id = property(lambda self: self.session.session_id)
    state = property(lambda self: self.session.state)
    next_stage = property(lambda self: self.session.next_stage)
    shown = property(lambda self: self.session.shown)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.bar = SessionBar()
        self.session_combo, self.branch_combo, self.info = self.bar.session_combo, self.bar.branch_combo, self.bar.info
        self.settings_btn = self.bar.settings_btn
        self.bar.new_btn.clicked.connect(self.new_session_dialog)
        self.settings_btn.clicked.connect(self.session_settings_dialog)
        self.rail = StageRail()

        self.buttons = StageButtons()
        b = self.buttons
        self.run_btn, self.accept_btn, self.run_all_btn, self.stop_btn = b.run_btn, b.accept_btn, b.run_all_btn, b.stop_btn
        self.fork_btn, self.run_code_btn = b.fork_btn, b.run_code_btn
        for signal, slot in ((b.run, self.run_stage), (b.accept, self.accept_and_next), (b.run_all, self.run_to_end),
                             (b.stop, self.stop), (b.fork, self.fork_here), (b.run_code, self.run_edited_code)):
            signal.connect(slot)
        self.stage_shortcuts = [QShortcut(QKeySequence("Ctrl+Return"), self, self.run_stage),
                                QShortcut(QKeySequence("Ctrl+Shift+Return"), self, self.accept_and_next)]
        # Esc stops a run; only live while one runs, so it never steals Esc from the find bar.
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.stop)
        self.stop_shortcut.setEnabled(False)

        self.view = StageView(self.ctx, b)
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
        # The proposal board: a widget of its own, the body stack's third page; it tells the page
        # through signals when to go back and which branch was picked.
        self.board = ProposalBoardView(self.ctx)
        self.board.back_requested.connect(lambda: self.body.setCurrentIndex(0))
        self.board.continued.connect(self._board_continued)
        self.bar.board_btn.clicked.connect(lambda: self.show_board())
        self.body = QStackedWidget()
        self.body.addWidget(main)
        self.body.addWidget(welcome)
        self.body.addWidget(self.board)
        # The stage keys are off while the board is shown: two live shortcuts for one key in a window
        # cancel each other (Qt calls that ambiguous and runs neither).
        self.body.currentChanged.connect(lambda _i: self._stage_keys(self.body.currentWidget() is not self.board))
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

    def _stage_keys(self, on: bool) -> None:
        for shortcut in self.stage_shortcuts:
            shortcut.setEnabled(on)

    def start_demo_session(self) -> int:
        settings = self.ctx.settings
        task, limits = self.session.demo(settings.execution_python)
        return self.create_session(task, settings.designer_model, settings.programmer_model, limits)

    # -- sessions ----------------------------------------------------------------------------
    def _restore(self) -> None:
        self._fill_sessions()
        saved = QSettings().value("design/session")
        wanted = self.session.session_to_restore(saved)
        if wanted is None:
            self._show_empty()
        else:   # the step shown last, when it is the session shown last
            self.open_session(wanted, select=QSettings().value("design/selected") if str(wanted) == str(saved) else None)

    def _fill_sessions(self) -> None:
        self.bar.fill_sessions(self.sessions.list_sessions(), self.session_id)

    def _show_empty(self) -> None:
        self.body.setCurrentIndex(1)
        self.info.setText("No design session yet.")
        self.buttons.disable_all()
        for w in (self.settings_btn, self.branch_combo, self.bar.board_btn):
            w.setEnabled(False)

    def new_session_dialog(self) -> int | None:
        from deepones_gui.workspaces.design.new_session import ask_session

        value = ask_session(self.ctx, self)
        return self.create_session(*value) if value is not None else None

    def session_settings_dialog(self) -> bool:
        from deepones_gui.workspaces.design.new_session import ask_session

        if self.session_id is None or self.is_running():
            return False
        row = self.sessions.session_row(self.session_id)
        value = ask_session(self.ctx, self, existing=(self.state.task, row["designer"], row["programmer"],
                                                      self.state.settings))
        if value is not None:
            self.apply_session_settings(*value[1:])
        return value is not None

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
        self.body.setCurrentIndex(0)
        self.session.open(int(session_id), running=self.is_running())
        QSettings().setValue("design/session", self.session_id)
        self._fill_sessions()
        self._draw(select=select)

    # -- rendering ---------------------------------------------------------------------------
    def refresh(self, select=None) -> None:
        """Re-read the session from the store and redraw (keeping or setting the selection)."""
        if self.session_id is None:
            return
        self.session.reload()
        self._draw(select=select)

    def _draw(self, select=None, *, whole: bool = True) -> None:
        """Draw what the controller holds; ``whole``: the session bar's models and branches too
        (they change with a fork or a run's end, not with each step)."""
        state = self.state
        self.rail.show_branch(*self.session.rail())
        if whole:
            self.bar.show_models(state, self.sessions.session_row(self.session_id))
            self.bar.fill_branches(self.sessions.leaves(self.session_id), state)
        wanted = self.session.selection(select)
        self.session.shown = None  # force a redraw
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
        self.session.fork_at(leaf or None)
        self.refresh(select=leaf or NEXT)

    def _rail_changed(self) -> None:
        data = self.rail.selected_data()
        if data is None or data == self.shown:
            return
        self.flush_edits()
        self.session.shown = data
        QSettings().setValue("design/selected", data)
        if data == NEXT:
            stage, prompt = self.session.next_prompt()
            self.view.show_next(self.state, stage, prompt, self.rail.selected_title())
        elif (step := self.session.step(data)) is not None:
            prompt, diff_base = self.session.step_view(step)
            self.view.show_step(step, self.state, prompt, diff_base, title=self.rail.selected_title() or step.title,
                                can_retry=self.session.is_retry(step))
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.rail.currentRow()
        after = self.rail.item(row + 1) if row >= 0 else None
        a = self.session.actions(running_here=self.is_running(), has_code=bool(self.code_pane.code().strip()),
                                 has_next_item=after is not None and bool(after.flags() & Qt.ItemFlag.ItemIsEnabled))
        self.buttons.show_actions(a)
        for widget, on in ((self.settings_btn, a.settings), (self.bar.board_btn, a.board), (self.stop_shortcut, a.stop)):
            widget.setEnabled(on)

    # -- edits -------------------------------------------------------------------------------
    def flush_edits(self) -> None:
        self.edits.flush()

    def _queue(self, save: Save | None) -> None:
        if save is not None:
            key, fn, args = save
            self.edits.queue(key, self._save, key[0], fn, args)

    def _save(self, field: str, fn, args: tuple) -> None:
        step = fn(*args)
        if isinstance(step, Step) and self.shown == step.id:   # what the saved version changes on screen
            if step.stage == "hyperparameters":
                self.view.show_hyper(step.hyperparameters or {})
            elif field == "code":
                self.view.set_code_title(step)

    def _prompt_edited(self) -> None:
        if not self.view.loading:
            self._queue(self.session.prompt_save(self.prompt_edit.toPlainText()))

    def _response_edited(self) -> None:
        if not self.view.loading:
            self._queue(self.session.response_save(self.response_edit.toPlainText()))
            self._update_buttons()

    def _code_edited(self, code: str) -> None:
        if not self.view.loading:
            self._queue(self.session.code_save(code))
            self._update_buttons()

    # -- actions -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.runs.running

    def run_stage(self) -> None:
        """Run the stage shown: the next one, an unfinished one again in place, or a re-run on a new branch."""
        if self.session_id is None or self.is_running() or not self.run_btn.isEnabled():
            return
        prompt = self.prompt_edit.toPlainText()
        self.flush_edits()
        if self.session.prepare_rerun():
            self._start(lambda runner: runner.run_stage(prompt))

    def run_to_end(self) -> None:
        if self.session_id is None or self.is_running():
            return
        shown_step = self.session.shown_step
        prompt = self.prompt_edit.toPlainText() if self.shown == NEXT or self.session.is_retry(shown_step) else None
        self.flush_edits()

        def work(runner):
            if prompt is not None:
                step = runner.run_stage(prompt)
                if step.status in ("error", "stopped") or runner.cancel.is_set():
                    return step
            return runner.run_until()

        self._start(work)

    def run_edited_code(self) -> None:
        step = self.session.shown_step
        if step is None or self.is_running():
            return
        code = self.code_pane.code()
        self.flush_edits()
        self.session.fork_at(step.id)
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
        step = self.session.shown_step
        if step is None or self.is_running():
            return
        self.flush_edits()
        self.session.fork_at(step.id)
        self.refresh(select=NEXT)

    def stop(self) -> None:
        if self.is_running():
            self.runs.stop()

    def _start(self, action) -> None:
        self.runs.start(self.session_id, action)
        self.board.set_stage_running(True)
        self._update_buttons()

    def _on_event(self, session_id: int, kind: str, payload) -> None:
        if session_id != self.session_id:
            return
        if kind == "step":
            # The step the event carries, put in place: no re-read of the branch per step.
            step: Step = payload["step"]
            if self.session.apply_step(step):
                self._draw(select=step.id, whole=False)
            else:
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
        running = self.session.running_step_id
        if text and running is not None and self.shown == running:
            self.output_view.append_output(text)

    def _on_error(self, exc: BaseException, tb: str) -> None:
        if isinstance(exc, PipelineFinished):
            QMessageBox.information(self, "Design", str(exc))
            return
        log.error("design stage failed: %s", tb)
        QMessageBox.warning(self, "Design", f"The stage could not run: {exc}")

    def _on_done(self, session_id: int) -> None:
        self.session.running_step_id = None
        self.board.set_stage_running(False)
        if session_id == self.session_id:
            self.refresh()
            self._fill_sessions()
        self._update_buttons()

    # -- the proposal board ------------------------------------------------------------------
    def show_board(self, prompt: str | None = None) -> bool:
        """The session's proposal board in place of the stages (``prompt``: Chat's Compare)."""
        if self.session_id is None:
            return False
        self.flush_edits()
        if self.board.session_id != self.session_id or prompt:
            self.board.open_session(self.session_id, prompt)
        else:
            self.board.reload()
        self.body.setCurrentWidget(self.board)
        self.board.propose_btn.setFocus()  # the board's keys (Ctrl+Return, Esc) work from the start
        return True

    def _board_continued(self, tip: int) -> None:
        """A card was picked: its branch is the session's now; show its next stage."""
        self.body.setCurrentIndex(0)
        self.refresh(select=NEXT)

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
        task_name = self.choose_task(self.session.task_for_new().name)
        if task_name is None:
            return   # the user cancelled: nothing is created
        self.seed_from_chat(payload.get("text", ""), payload.get("code", ""), task_name)
        self._show_in_window()

    def _show_in_window(self) -> None:
        self.ctx.show_workspace("design")

    def choose_task(self, current: str) -> str | None:
        """Which task a chat answer is a design for (the open session's preselected); None: cancelled."""
        from deepones_gui.workspaces.design.new_session import ask_task

        return ask_task(self, current)

    def seed_from_chat(self, text: str, code: str = "", task_name: str = "demo-digits") -> int:
        """A new session for ``task_name`` seeded with a chat answer: the proposal (and C_R if code came too)."""
        self.flush_edits()
        settings = self.ctx.settings
        sid = self.session.seed(text, code, task_name, settings.designer_model, settings.programmer_model)
        self._fill_sessions()
        self.open_session(sid, select=NEXT)
        return sid

    def compare_from_chat(self, prompt: str, task_name: str = "demo-digits") -> int:
        """Chat's "Compare": a new session on the current task whose board asks ``prompt``."""
        settings = self.ctx.settings
        sid = self.create_session(self.session.task_for_new(task_name), settings.designer_model,
                                  settings.programmer_model, title=f"Compare: {' '.join(prompt.split())[:50]}")
        self.show_board(prompt)
        self._show_in_window()
        return sid

    def send_back_to_designer(self, note: str) -> None:
        """The model check's note goes into the designer's prompt (see design.check_tab)."""
        from deepones_gui.workspaces.design.check_tab import sent_back_message, with_note

        target = self.session.designer_tip()
        if target is None:
            self.info.setText("No designer stage on this branch to send the check back to.")
            return
        self.rail.select_data(target.id)
        if self.shown != target.id:
            self.info.setText("The designer's stage could not be shown.")
            return
        self.prompt_edit.setPlainText(with_note(self.prompt_edit.toPlainText(), note))
        self.prompt_edit.setFocus()
        self.info.setText(sent_back_message(target))

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
