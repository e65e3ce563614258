"""The Design workspace: step through propose -> improve -> implement -> debug -> hyperparameters -> final run.

The page is a view over :mod:`backend.pipeline`: a :class:`DesignRunner` does the work on a pool
thread and reports events; the page renders the recorded steps and saves every edit (debounced)
as a new version in the store, so nothing typed is ever lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from backend.pipeline import DesignRunner, PipelineFinished, SessionStore, Step
from backend.pipeline.state import RUN_STAGES
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.design.stage_view import CODE_STAGES, StageView
from deepones_gui.workspaces.design.widgets import NEXT, StageRail

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 700
class DesignPage(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.setObjectName("DesignPage")
        self.ctx = ctx
        self.sessions = SessionStore(ctx.db)
        self.session_id: int | None = None
        self.runners: dict[int, DesignRunner] = {}
        self.task = None                    # the BackgroundTask running a stage, if any
        self.running_step_id: int | None = None
        self.shown: int | None = None       # a step id, NEXT, or None
        self._pending: dict[tuple, tuple] = {}   # unsaved edits: key -> (callable, args)
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.flush_edits)
        # Live run output arrives in many small pieces: batch it into one append per 100 ms.
        self._output_buffer: list[str] = []
        self._output_timer = QTimer(self, singleShot=True, interval=100)
        self._output_timer.timeout.connect(self._flush_output)
        self._build()
        ctx.broadcast.connect(self.on_broadcast)
        self._restore()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.session_combo = QComboBox()
        self.session_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.session_combo.setMinimumContentsLength(34)
        self.session_combo.setToolTip("Design sessions, newest first")
        new_btn = QPushButton("New session…")
        new_btn.clicked.connect(self.new_session_dialog)
        self.settings_btn = QPushButton("Settings…")
        self.settings_btn.setToolTip("This session's designer, programmer and limits (e.g. switch to a capable programmer)")
        self.settings_btn.clicked.connect(self.session_settings_dialog)
        self.branch_combo = QComboBox()
        self.branch_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.branch_combo.setMinimumContentsLength(26)
        self.branch_combo.setToolTip("Every fork is a branch; the other branches stay in the session")
        self.info = QLabel()
        self.info.setStyleSheet("color: palette(placeholder-text);")
        # Long model paths must never widen the window: the label is clipped, the tooltip has it all.
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(QLabel("Session"))
        top.addWidget(self.session_combo, 2)
        top.addWidget(new_btn)
        top.addWidget(self.settings_btn)
        top.addSpacing(12)
        top.addWidget(QLabel("Branch"))
        top.addWidget(self.branch_combo, 1)

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
        self.hyper_table, self.chart_holder, self.tabs = v.hyper_table, v.chart_holder, v.tabs
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.rail)
        main.addWidget(self.view)
        main.setStretchFactor(1, 1)
        main.setSizes([200, 1000])
        main.setChildrenCollapsible(False)

        self.body = QStackedWidget()
        self.body.addWidget(main)
        self.body.addWidget(self._build_welcome())
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.body, 1)

        self.session_combo.activated.connect(lambda _i: self.open_session(self.session_combo.currentData()))
        self.branch_combo.activated.connect(self._branch_chosen)
        self.rail.currentItemChanged.connect(lambda *_: self._rail_changed())
        self.prompt_edit.textChanged.connect(self._prompt_edited)
        self.response_edit.textChanged.connect(self._response_edited)
        self.code_pane.edited.connect(self._code_edited)

    def _build_welcome(self) -> QWidget:
        welcome = QWidget()
        box = QVBoxLayout(welcome)
        box.addStretch(1)
        title = QLabel("Design a deep learning program, one stage at a time")
        title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        text = QLabel(
            "A session follows the DeepBench pipeline: the designer proposes an architecture and improves it, "
            "the programmer implements it, the program runs on a small subset and is debugged until it scores, "
            "the designer picks hyperparameters, and the final program runs under the time limits.\n\n"
            "Every prompt is shown before it is sent and can be edited; every answer and program can be edited "
            "too, and any stage can be forked. The demo task trains on scikit-learn's digits on the CPU, offline.")
        text.setWordWrap(True)
        text.setFixedWidth(720)
        text.setMinimumHeight(text.heightForWidth(720))
        new_btn = QPushButton("New session…")
        new_btn.clicked.connect(self.new_session_dialog)
        demo_btn = QPushButton("Start with the offline demo task")
        demo_btn.setToolTip("Digits classification with the models from Preferences (the embedded SmolLM2 by default)")
        demo_btn.clicked.connect(self.start_demo_session)
        for w in (title, text):
            box.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(demo_btn)
        row.addWidget(new_btn)
        row.addStretch(1)
        box.addSpacing(12)
        box.addLayout(row)
        box.addStretch(2)
        return welcome

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
        self.session_combo.blockSignals(True)
        self.session_combo.clear()
        for row in self.sessions.list_sessions():
            self.session_combo.addItem(f"#{row['id']}  {row['title']}  · {row['status']}", row["id"])
        if self.session_id is not None:
            self.session_combo.setCurrentIndex(max(0, self.session_combo.findData(self.session_id)))
        self.session_combo.blockSignals(False)

    def _show_empty(self) -> None:
        self.body.setCurrentIndex(1)
        self.info.setText("No design session yet.")
        for w in (self.run_btn, self.accept_btn, self.run_all_btn, self.stop_btn, self.fork_btn, self.run_code_btn,
                  self.settings_btn):
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
        if self.running_step_id is None:
            self.sessions.mark_interrupted(self.session_id)
        QSettings().setValue("design/session", self.session_id)
        self._fill_sessions()
        self.refresh(select=select)

    def runner(self) -> DesignRunner:
        if self.session_id not in self.runners:
            root = Path(self.ctx.data_dir)
            self.runners[self.session_id] = DesignRunner(self.ctx.open_db(), self.session_id, root=root)
        return self.runners[self.session_id]

    # -- rendering ---------------------------------------------------------------------------
    def refresh(self, select=None) -> None:
        """Re-read the session from the store and redraw the rail (keeping or setting the selection)."""
        if self.session_id is None:
            return
        state = self.sessions.state(self.session_id)
        row = self.sessions.session_row(self.session_id)
        self.state = state
        nxt = state.next_stage()
        self.next_stage = nxt
        planned = self._planned_after(nxt, state)
        self.rail.show_branch(state.steps, nxt, state.debug_attempts + 1, planned)
        task = state.task
        from deepones_gui.context import describe_model

        self.info.setText(f"{task.title} · {task.metric} ({task.direction} is better) · designer "
                          f"{describe_model(row['designer'])} · programmer {describe_model(row['programmer'])}")
        self.info.setToolTip(f"{task.title}\nDesigner: {row['designer']}\nProgrammer: {row['programmer']}")
        self._fill_branches(state)
        wanted = select if select is not None else self.shown
        try:
            wanted = int(wanted) if wanted is not None else None
        except (TypeError, ValueError):
            wanted = None
        ids = {s.id for s in state.steps}
        if wanted not in ids and wanted != NEXT or (wanted == NEXT and nxt is None):
            wanted = NEXT if nxt is not None else (state.steps[-1].id if state.steps else None)
        self.shown = None  # force a redraw
        if wanted is not None:
            self.rail.select_data(wanted)
            self._rail_changed()
        self._update_buttons()

    @staticmethod
    def _planned_after(stage: str | None, state) -> list[str]:
        order = ["propose", "improve", "implement", "debug", "hyperparameters", "final"]
        if stage is None:
            return []
        stage = "debug" if stage == "validate" else stage
        later = order[order.index(stage) + 1:]
        if "debug" in later:
            later.remove("debug")
        if not state.settings.improve and "improve" in later:
            later.remove("improve")
        return later

    def _fill_branches(self, state) -> None:
        self.branch_combo.blockSignals(True)
        self.branch_combo.clear()
        leaves = self.sessions.leaves(self.session_id)
        tip = state.steps[-1].id if state.steps else None
        on_branch = {s.id for s in state.steps}
        current = -1
        for n, leaf in enumerate(reversed(leaves), 1):
            label = f"Branch {n}: {leaf.title} · {leaf.status}" + (f" · {leaf.score:g}" if leaf.score is not None else "")
            self.branch_combo.addItem(label, leaf.id)
            if leaf.id in on_branch:
                current = self.branch_combo.count() - 1
        if current < 0:
            after = next((s.title for s in state.steps if s.id == tip), "the start")
            self.branch_combo.addItem(f"New branch after {after}", tip if tip is not None else 0)
            current = self.branch_combo.count() - 1
        self.branch_combo.setCurrentIndex(current)
        self.branch_combo.blockSignals(False)

    def _branch_chosen(self, index: int) -> None:
        leaf = self.branch_combo.itemData(index)
        if self.session_id is None or self.is_running():
            return
        self.flush_edits()
        self.sessions.fork(self.session_id, leaf or None)
        self.refresh(select=leaf or NEXT)

    def _step(self, step_id: int) -> Step | None:
        return next((s for s in self.state.steps if s.id == step_id), None)

    def _rail_changed(self) -> None:
        data = self.rail.selected_data()
        if data is None or data == self.shown:
            return
        self.flush_edits()
        self.shown = data
        QSettings().setValue("design/selected", data)
        if data == NEXT:
            self._show_next()
        else:
            step = self._step(data)
            if step is not None:
                self._show_step(step)
        self._update_buttons()

    def _show_next(self) -> None:
        stage, prompt = self.runner_prompt()
        self.view.show_next(self.state, stage, prompt)

    def runner_prompt(self) -> tuple[str | None, str]:
        from backend.pipeline import stages

        state = self.state
        stage = state.next_stage()
        if stage is None:
            return None, ""
        tip = state.steps[-1].id if state.steps else None
        draft = self.sessions.draft(self.session_id, tip, stage)
        return stage, draft if draft is not None else stages.build_prompt(stage, state, Path(self.ctx.data_dir))

    def _show_step(self, step: Step) -> None:
        draft = self.sessions.draft(self.session_id, step.parent_id, step.stage)
        index = self.state.steps.index(step)
        before = next((s for s in reversed(self.state.steps[:index]) if s.stage in CODE_STAGES and s.code), None)
        # The previous attempt's code as it ran (its first version), against this attempt's code.
        diff_base = (before, self.sessions.original(before, "code")) if before is not None else None
        self.view.show_step(step, self.state, draft if draft is not None else step.prompt, diff_base)

    def _attach_live_chart(self, step_id: int, tries: int = 20) -> None:
        """While a run goes on, find its job (recorded at launch) and chart it live."""
        if self.running_step_id != step_id or self.shown != step_id:
            return
        row = self.ctx.db.execute("SELECT id FROM jobs WHERE origin = ? ORDER BY created_at DESC LIMIT 1",
                                  [f"design:{step_id}"]).fetchone()
        if row is not None:
            self.view.show_chart(row[0], follow=True)
        elif tries > 0:
            QTimer.singleShot(300, lambda: self._attach_live_chart(step_id, tries - 1))

    def _update_buttons(self) -> None:
        has_session = self.session_id is not None
        running = self.is_running()
        step = self._step(self.shown) if has_session and self.shown not in (None, NEXT) else None
        self.run_btn.setEnabled(has_session and not running and (self.shown == NEXT or (step is not None and step.origin == "model")))
        self.run_btn.setText("Run stage" if self.shown == NEXT else "Re-run stage (new branch)")
        self.accept_btn.setEnabled(has_session and not running and step is not None and step.status != "running")
        self.run_all_btn.setEnabled(has_session and not running and self.next_stage is not None)
        self.stop_btn.setEnabled(running)
        self.settings_btn.setEnabled(has_session and not running)
        self.stop_shortcut.setEnabled(running)
        self.fork_btn.setEnabled(has_session and not running and step is not None and step.finished)
        self.run_code_btn.setEnabled(has_session and not running and step is not None
                                     and step.stage in RUN_STAGES and bool(self.code_pane.code().strip()))

    # -- edits (saved as new versions, debounced) -------------------------------------------------
    def _queue(self, key: tuple, fn, *args) -> None:
        self._pending[key] = (fn, args)
        self._save_timer.start()

    def flush_edits(self) -> None:
        pending, self._pending = self._pending, {}
        for fn, args in pending.values():
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a failed save must be visible, never silent
                log.exception("saving an edit failed")
                QMessageBox.warning(self, "Design", "An edit could not be saved; see the log file.")

    def _prompt_edited(self) -> None:
        if self.view.loading or self.session_id is None:
            return
        text = self.prompt_edit.toPlainText()
        if self.shown == NEXT:
            tip = self.state.steps[-1].id if self.state.steps else None
            self._queue(("draft", tip, self.next_stage), self.sessions.save_draft, self.session_id, tip,
                        self.next_stage, text)
        elif (step := self._step(self.shown)) is not None:
            # A re-run prompt for this stage: kept as the draft after its parent (the sent prompt stays as sent).
            self._queue(("draft", step.parent_id, step.stage), self.sessions.save_draft, self.session_id,
                        step.parent_id, step.stage, text)

    def _response_edited(self) -> None:
        if self.view.loading or self.session_id is None or self.shown in (None, NEXT):
            return
        self._queue(("response", self.shown), self._save_response, self.shown, self.response_edit.toPlainText())

    def _save_response(self, step_id: int, text: str) -> None:
        self.sessions.save_edit(self.session_id, step_id, "response", text)
        step = self.sessions.step(step_id)
        self.state.steps = [step if s.id == step_id else s for s in self.state.steps]
        if step.stage == "hyperparameters" and self.shown == step_id:
            self.view.show_hyper(step.hyperparameters or {})

    def _code_edited(self, code: str) -> None:
        if self.view.loading or self.session_id is None or self.shown in (None, NEXT):
            return
        step = self._step(self.shown)
        if step is None:
            return
        field = "reference_code" if step.stage == "improve" else "code"
        self._queue((field, step.id), self._save_code, step.id, field, code)
        self._update_buttons()

    def _save_code(self, step_id: int, field: str, code: str) -> None:
        self.sessions.save_edit(self.session_id, step_id, field, code)
        step = self.sessions.step(step_id)
        for i, s in enumerate(self.state.steps):
            if s.id == step_id:
                self.state.steps[i] = step
        if self.shown == step_id and field == "code":
            self.view.set_code_title(step)

    # -- actions -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.task is not None

    def run_stage(self) -> None:
        if self.session_id is None or self.is_running() or not self.run_btn.isEnabled():
            return
        prompt = self.prompt_edit.toPlainText()
        self.flush_edits()
        if self.shown != NEXT:
            step = self._step(self.shown)
            if step is None:
                return
            self.sessions.fork(self.session_id, step.parent_id)  # re-run: a sibling branch
        self._start(lambda runner: runner.run_stage(prompt))

    def run_to_end(self) -> None:
        if self.session_id is None or self.is_running():
            return
        prompt = self.prompt_edit.toPlainText() if self.shown == NEXT else None
        self.flush_edits()

        def work(runner: DesignRunner):
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
        if self.is_running() or self.shown in (None, NEXT):
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
        if self.session_id in self.runners and self.is_running():
            self.runners[self.session_id].stop()

    def _start(self, action) -> None:
        runner = self.runner()
        session_id = self.session_id

        def work(*, progress, partial, cancel):
            runner.on_event = lambda kind, payload: partial((kind, payload))
            try:
                return action(runner)
            finally:
                runner.on_event = lambda kind, payload: None

        self.task = run_in_background(
            work,
            on_partial=lambda event: self._on_event(session_id, event),
            on_error=self._on_error,
            on_done=lambda: self._on_done(session_id),
        )
        self._update_buttons()

    def _on_event(self, session_id: int, event) -> None:
        kind, payload = event
        if session_id != self.session_id:
            return
        if kind == "step":
            step: Step = payload["step"]
            if step.status == "running":
                self.running_step_id = step.id
                self.refresh(select=step.id)
            else:
                self.running_step_id = None
                self.refresh(select=step.id)
        elif kind == "chunk" and self.shown == payload["step_id"]:
            self.view.append_response(payload["text"])
        elif kind == "running" and self.shown == payload["step_id"]:
            self.output_view.clear()
            self.tabs.setCurrentWidget(self.output_view)
            self.header.setText(self.header.text().split(" — ")[0] + " — running the program…")
            QTimer.singleShot(300, lambda sid=payload["step_id"]: self._attach_live_chart(sid))
        elif kind == "output" and self.shown == payload["step_id"]:
            self._output_buffer.append(payload["text"])
            if not self._output_timer.isActive():
                self._output_timer.start()
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
        self.task = None
        self.running_step_id = None
        if session_id == self.session_id:
            self.refresh()
            self._fill_sessions()
        self._update_buttons()

    # -- cross-workspace ---------------------------------------------------------------------
    def on_broadcast(self, name: str, payload) -> None:
        if name != "send_to_design" or not isinstance(payload, dict):
            return
        self.seed_from_chat(payload.get("text", ""), payload.get("code", ""))
        window = self.ctx.window
        if window is not None and hasattr(window, "show_workspace"):
            window.show_workspace("design")

    def seed_from_chat(self, text: str, code: str = "", task_name: str = "demo-digits") -> int:
        """A new session seeded with a chat answer: it becomes the proposal (and C_R if code came too)."""
        from backend.pipeline import get_task

        task = self.state.task if self.session_id is not None else get_task(task_name)
        if not text.strip():  # Chat's "→ Design" on a code block sends the code alone
            text = f"Reference code sent from Chat:\n\n```python\n{code.rstrip()}\n```\n"
        settings = self.ctx.settings
        sid = self.sessions.create_session(task, settings.designer_model, settings.programmer_model,
                                           title=f"From chat: {task.title}")
        first = self.sessions.add_step(sid, None, "propose", status="done", origin="chat",
                                       prompt="(sent from Chat)", response=text)
        if code:
            self.sessions.add_step(sid, first.id, "improve", status="done", origin="chat",
                                   prompt="(sent from Chat)", response=text, reference_code=code)
        self._fill_sessions()
        self.open_session(sid, select=NEXT)
        return sid

    # -- lifecycle ---------------------------------------------------------------------------
    def can_close(self) -> bool:
        if not self.is_running():
            return True
        answer = QMessageBox.question(self, "Design", "A stage is still running. Stop it and close?")
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        self.flush_edits()
        self.view.shutdown()
        for runner in self.runners.values():
            runner.stop()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)
        for runner in self.runners.values():
            runner.close()
            runner.db.conn.close()
        self.runners.clear()

    def screenshot_ready(self) -> bool:
        return not self.is_running()

    def prepare_screenshot(self) -> None:
        from deepones_gui.workspaces.design.demo import prepare_demo_session

        prepare_demo_session(self)

    def hideEvent(self, event) -> None:  # noqa: N802
        self.flush_edits()
        super().hideEvent(event)
