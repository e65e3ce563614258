"""The Generate workspace page: inputs and estimate on the left; progress, runs/steps and prompts on the
right. A thin view: the plan's rules, the estimate and the run live in ``backend.generate``, the run is
owned by a :class:`RunController` (its own thread), short reads go through ``tasks`` on the pool."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.generate.plan import SETTINGS_KEY, GeneratePlan, PlanError, describe_estimate
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.workspaces.generate import tasks
from deepones_gui.workspaces.generate.controller import RunController
from deepones_gui.workspaces.generate.form import GenerateForm
from deepones_gui.workspaces.generate.panels import ProgressPanel, PromptsPanel, RunsPanel
from deepones_gui.workspaces.page_protocol import WorkspacePage

ESTIMATE_DEBOUNCE_MS = 600
SAMPLES_EVERY_MS = 700  # the live samples list is re-read at most this often during a run


class GeneratePage(WorkspacePage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.db_path = ctx.db_path
        self.controller = RunController(self.db_path, self)
        self.controller.progressed.connect(self._progress)
        self.controller.finished.connect(self._finished)
        self.controller.failed.connect(lambda message: self._say(f"⚠ {message}"))
        self.estimate: dict | None = None
        self._estimate_task = None
        self._estimated_plan: GeneratePlan | None = None
        self._shown_run: int | None = None
        self._build()
        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DEBOUNCE_MS)
        self._estimate_timer.timeout.connect(self.refresh_estimate)
        self._samples_timer = QTimer(self, singleShot=True, interval=SAMPLES_EVERY_MS)
        self._samples_timer.timeout.connect(self._refresh_samples)
        self.form.changed.connect(self._plan_changed)
        self.form.picker.load(ctx.settings.designer_model, ctx.settings.programmer_model)
        plan = GeneratePlan.from_dict(ctx.settings.extra.get(SETTINGS_KEY))
        if not plan.model:
            plan.model = ctx.settings.designer_model
        self.form.set_plan(plan)
        self.refresh_runs()
        self._load_prompt(self.prompts.stage.currentText())

    # -- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 4, 0)
        papers_box = QGroupBox("Papers and code")
        self.form = GenerateForm()
        QVBoxLayout(papers_box).addWidget(self.form)
        lcol.addWidget(papers_box)
        est_box = QGroupBox("Estimate")
        ecol = QVBoxLayout(est_box)
        self.estimate_label = QLabel("Add papers to see what a run will cost.")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ecol.addWidget(self.estimate_label)
        lcol.addWidget(est_box)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("▶ Start")
        self.start_button.setToolTip("Create a run from these inputs and start it (Ctrl+Return)")
        self.cancel_button = QPushButton("■ Cancel")
        self.cancel_button.setToolTip("Stop the run; finished steps are kept and Resume goes on from them")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        lcol.addLayout(buttons)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lcol.addWidget(self.status)
        lcol.addStretch(1)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        start_key = QShortcut(QKeySequence("Ctrl+Return"), self)
        start_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        start_key.activated.connect(self.start)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(360)
        split.addWidget(scroll)

        self.tabs = QTabWidget()
        self.progress = ProgressPanel()
        self.progress.openSample.connect(self.open_sample)
        self.progress.filterPaper.connect(self.filter_paper)
        self.runs = RunsPanel()
        self.runs.runChosen.connect(self._run_chosen)
        self.runs.stepChosen.connect(self._step_chosen)
        self.runs.resumeRequested.connect(self.resume)
        from backend.generate.prompts import STAGES

        self.prompts = PromptsPanel(STAGES)
        self.prompts.stageChosen.connect(self._load_prompt)
        self.prompts.saveRequested.connect(self._save_prompt)
        self.prompts.resetRequested.connect(self._reset_prompt)
        self.tabs.addTab(self.progress, "Progress")
        self.tabs.addTab(self.runs, "Runs and steps")
        self.tabs.addTab(self.prompts, "Prompts")
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 700])
        split.setChildrenCollapsible(False)
        outer.addWidget(split)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    # -- plan and estimate ----------------------------------------------------------------------------
    def _plan_changed(self) -> None:
        self._update_buttons()
        self._estimate_timer.start()

    def _update_buttons(self) -> None:
        problem = self.form.plan().problem()
        running = self.controller.running
        self.start_button.setEnabled(problem is None and not running)
        self.start_button.setToolTip(problem or "Create a run from these inputs and start it (Ctrl+Return)")
        self.cancel_button.setEnabled(running)
        self.runs.busy_run = self.controller.run_id if running else None
        self.runs._update_buttons()
        if problem and not running:
            self._say(problem)
        elif not running and self.status.text().startswith(("Add papers", "Choose the", "Name the")):
            self._say("")

    def refresh_estimate(self) -> None:
        plan = self.form.plan()
        if not plan.papers and not plan.manifest:
            self.estimate = None
            self.estimate_label.setText("Add papers to see what a run will cost.")
            return
        if self._estimate_task is not None:
            self._estimate_task.cancel()
        self.estimate_label.setText("Estimating… (reading the papers)")
        self._estimated_plan = plan
        self._estimate_task = run_in_background(
            tasks.estimate,
            self.db_path,
            plan,
            on_result=self._show_estimate,
            on_error=self._estimate_failed,
            owner=self,
        )

    def _show_estimate(self, est: dict) -> None:
        self._estimate_task = None
        self.estimate = est
        self.estimate_label.setText(describe_estimate(est))

    def _estimate_failed(self, exc: BaseException, _tb: str) -> None:
        self._estimate_task = None
        self.estimate = None
        self.estimate_label.setText(f"⚠ {exc}")

    # -- runs -----------------------------------------------------------------------------------------
    def start(self) -> None:
        plan = self.form.plan()
        if (problem := plan.problem()) or self.controller.running:
            self._say(problem or "A run is already going.")
            return
        self.ctx.settings.extra[SETTINGS_KEY] = plan.to_dict()  # remembered for next time
        self.ctx.save_settings()
        self.start_button.setEnabled(False)
        self._say("Creating the run…")
        run_in_background(
            tasks.new_run,
            self.db_path,
            plan,
            on_result=lambda run_id: self._launch(run_id, plan.use_ray),
            on_error=self._start_failed,
            owner=self,
        )

    def _start_failed(self, exc: BaseException, _tb: str) -> None:
        self._say(
            f"⚠ {exc}"
            if isinstance(exc, (PlanError, ValueError, OSError))
            else f"⚠ {type(exc).__name__}: {exc}"
        )
        self._update_buttons()

    def _launch(self, run_id: int, use_ray: bool) -> None:
        self._shown_run = run_id
        self.progress.title.setText(f"Run #{run_id}" + (" on the Ray cluster" if use_ray else ""))
        self.progress.show_samples([])
        self.tabs.setCurrentWidget(self.progress)
        self.controller.start(run_id, use_ray=use_ray)
        self._say(f"Run #{run_id} started.")
        self._update_buttons()
        self.refresh_runs(select=run_id)

    def resume(self, run_id: int | None) -> None:
        if run_id is None or self.controller.running:
            return
        use_ray = self.form.use_ray.isChecked()
        self._launch(run_id, use_ray)
        self._say(f"Run #{run_id} resumed: finished steps are reused.")

    def cancel(self) -> None:
        if self.controller.running:
            self.controller.cancel()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling… (requests in flight are abandoned)")

    def _progress(self, info: dict) -> None:
        if info.get("run_id") != self._shown_run:
            return
        self.progress.show_progress(info)
        if info.get("event") in ("paper", "end", "start") and not self._samples_timer.isActive():
            self._samples_timer.start()

    def _finished(self, summary: dict) -> None:
        status = summary.get("status", "?")
        added = summary.get("samples_added")
        text = f"Run #{summary.get('run_id')} {status}" + (
            f": {added:,} samples added" if added is not None else ""
        )
        if summary.get("message") and status != "finished":
            text += f" — {summary['message']}"
        self._say(text)
        self.progress.title.setText(text)
        self._update_buttons()
        self._refresh_samples()
        self.refresh_runs(select=summary.get("run_id"))

    def _refresh_samples(self) -> None:
        if self._shown_run is not None:
            run_in_background(
                tasks.samples, self.db_path, self._shown_run, on_result=self.progress.show_samples, owner=self
            )

    def refresh_runs(self, select: int | None = None) -> None:
        def show(rows: list[dict]) -> None:
            self.runs.show_runs(rows)
            if select is not None:
                self.runs.select_run(select)
            if (chosen := self.runs.selected_run()) is not None:
                self._run_chosen(chosen)  # its steps may have changed even where the selection did not

        run_in_background(tasks.run_list, self.db_path, on_result=show, owner=self)

    def _run_chosen(self, run_id: int) -> None:
        self.runs._update_buttons()
        run_in_background(
            tasks.steps, self.db_path, run_id, on_result=lambda r: self.runs.show_steps(*r), owner=self
        )

    def _step_chosen(self, run_id: int, position: int, name: str) -> None:
        run_in_background(
            tasks.step, self.db_path, run_id, position, name, on_result=self.runs.show_step, owner=self
        )

    # -- to Data --------------------------------------------------------------------------------------
    def _to_data(self, name: str, payload: dict) -> None:
        self.ctx.broadcast.emit(name, payload)
        self.ctx.show_workspace("data")

    def open_sample(self, sample_id: int) -> None:
        self._to_data("open_sample", {"sample_id": sample_id})

    def filter_paper(self, paper_id: str) -> None:
        self._to_data("filter_data_by_paper", {"paper_id": paper_id})

    # -- prompts --------------------------------------------------------------------------------------
    def _load_prompt(self, stage: str) -> None:
        from backend.generate.prompts import PromptError, load_prompt

        try:
            prompt = load_prompt(stage, self.ctx.data_dir)
        except PromptError as exc:
            self.prompts.status.setText(f"⚠ {exc}")
            return
        self.prompts.show_prompt(prompt.version, prompt.body, prompt.user)
        self.prompts.status.setText("")

    def _save_prompt(self, stage: str, body: str) -> None:
        from backend.generate.prompts import PromptError, save_user_prompt

        try:
            prompt = save_user_prompt(stage, body, self.ctx.data_dir)
        except (PromptError, OSError) as exc:
            self.prompts.status.setText(f"⚠ {exc}")
            return
        self.prompts.show_prompt(prompt.version, prompt.body, prompt.user)
        self.prompts.status.setText(f"Saved: new samples record {prompt.version}")

    def _reset_prompt(self, stage: str) -> None:
        from backend.generate.prompts import reset_user_prompt

        if (
            QMessageBox.question(self, "Reset prompt", f"Drop your edit of the {stage!r} prompt?")
            != QMessageBox.StandardButton.Yes
        ):
            return
        prompt = reset_user_prompt(stage, self.ctx.data_dir)
        self.prompts.show_prompt(prompt.version, prompt.body, prompt.user)
        self.prompts.status.setText("Back to the packaged prompt")

    # -- page protocol --------------------------------------------------------------------------------
    def ready(self) -> bool:
        return self._estimate_task is None and not self.controller.running

    def can_close(self) -> bool:
        if not self.controller.running:
            return True
        answer = QMessageBox.question(
            self,
            "Generate run going",
            "A generate run is going. Cancel it and close? Finished steps are kept; "
            "Resume goes on from them.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.cancel()
            return True
        return False

    def shutdown(self) -> None:
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        self._estimate_timer.stop()
        self._samples_timer.stop()
        if self.controller.running:
            self.controller.cancel()
            self.controller.wait(10)
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)
