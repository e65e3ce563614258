"""The Design workspace's session controller: what the page shows and what it may do, without Qt.

The page is a view over one :class:`DesignSession`: the open session, its current branch
(``state``), the item shown (a step id or :data:`NEXT`), and the rules — which buttons do
something now, which edit is saved where, what a re-run forks. The store is read in full only when
a session is opened, after a fork and at the end of a run; while a run goes on, each step a run
event carries is put in place in memory (:meth:`DesignSession.apply_step`), so a step costs no
re-read of the branch on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from backend.llm.degenerate import MODEL_LOOP, RETRY_LABEL
from backend.pipeline.state import CODE_STAGES, RUN_STAGES, SessionState, Step
from backend.pipeline.store import SessionStore

NEXT = -1  # what is shown: "the next stage, not run yet" (the rail's item data for it)
RUN_AGAIN = "Run again"
DESIGNER_STAGES = ("improve", "propose")  # where a design goes back to, latest first


@dataclass(frozen=True)
class Actions:
    """What the page's buttons may do now (their labels too)."""

    run_label: str = "Run stage"
    run_tip: str = "Send the prompt shown (edited or not) and run this stage (Ctrl+Return)"
    run: bool = False
    accept: bool = False
    accept_tip: str = "Keep this result and show the next stage's prompt (Ctrl+Shift+Return)"
    run_all: bool = False
    stop: bool = False
    settings: bool = False
    board: bool = False
    fork: bool = False
    run_code: bool = False


# A save the page's debounced queue writes later: (key, function, arguments); one key, one save.
Save = tuple[tuple, Callable, tuple]


class DesignSession:
    def __init__(self, store: SessionStore, root: Path) -> None:
        self.store = store
        self.root = root
        self.session_id: int | None = None
        self.state: SessionState | None = None
        self.next_stage: str | None = None
        self.shown: int | None = None  # a step id, NEXT, or None
        self.running_step_id: int | None = None

    # -- reading -----------------------------------------------------------------------------
    def session_to_restore(self, saved) -> int | None:
        """The session the page opened last (``saved``, as remembered), else the newest, else None."""
        ids = [row["id"] for row in self.store.list_sessions()]
        try:
            wanted = int(saved) if saved is not None else None
        except (TypeError, ValueError):
            wanted = None
        return wanted if wanted in ids else (ids[0] if ids else None)

    def open(self, session_id: int, *, running: bool) -> None:
        self.session_id = int(session_id)
        if not running:
            # Steps left "running" by a process that is gone now say why they stopped.
            self.store.mark_interrupted(self.session_id)
        self.reload()

    def reload(self) -> SessionState:
        """The branch as the store has it (a session opened, a fork, the end of a run)."""
        self.state = self.store.state(self.session_id)
        self.next_stage = self.state.next_stage()
        return self.state

    def apply_step(self, step: Step) -> bool:
        """Put a step a run reported in place on the branch, in memory; False when it is not on this
        branch (the caller then reloads)."""
        self.running_step_id = step.id if step.status == "running" else None
        steps = self.state.steps if self.state is not None else None
        if steps is None or step.session_id != self.session_id:
            return False
        step = replace(step)  # the page's own copy: an edit in a pane never touches the runner's object
        ids = [s.id for s in steps]
        if step.id in ids:
            steps[ids.index(step.id)] = step  # updated, or run again in place
        elif step.parent_id is None:
            self.state.steps = [step]  # a fork from the very start
        elif step.parent_id in ids:
            self.state.steps = [*steps[: ids.index(step.parent_id) + 1], step]  # the new tip
        else:
            return False
        self.next_stage = self.state.next_stage()
        return True

    def step(self, step_id) -> Step | None:
        return next((s for s in self.state.steps if s.id == step_id), None) if self.state else None

    @property
    def shown_step(self) -> Step | None:
        return (
            self.step(self.shown) if self.session_id is not None and self.shown not in (None, NEXT) else None
        )

    def is_retry(self, step: Step | None) -> bool:
        """``step`` ended without a result and is the branch's tip: "Run again" re-runs it in place."""
        retry = self.state.retry_step if self.state else None
        return step is not None and retry is not None and retry.id == step.id

    def rail(self) -> tuple[list[Step], str | None, int, list[str]]:
        """(steps, the next stage for a "— next" item or None, its attempt, the planned stages after it)."""
        state, nxt = self.state, self.next_stage
        # A stage that ended without a result, or that is running, is itself the next thing to run.
        tip_is_next = state.retry_step is not None or state.running_step is not None
        return state.steps, None if tip_is_next else nxt, state.debug_attempts + 1, state.planned_after(nxt)

    def selection(self, select=None):
        """What to show: ``select`` (or what is shown) when it is still there, else the retry, the next
        stage or the last step."""
        state, nxt = self.state, self.next_stage
        wanted = select if select is not None else self.shown
        try:
            wanted = int(wanted) if wanted is not None else None
        except (TypeError, ValueError):
            wanted = None
        retry = state.retry_step
        if wanted not in {s.id for s in state.steps} and (wanted != NEXT or nxt is None or retry is not None):
            wanted = (
                retry.id
                if retry
                else (NEXT if nxt is not None else (state.steps[-1].id if state.steps else None))
            )
        return wanted

    def next_prompt(self) -> tuple[str | None, str]:
        from backend.pipeline.runner import prepare_prompt

        return prepare_prompt(self.store, self.session_id, self.state, self.root)

    def step_view(self, step: Step) -> tuple[str, tuple[Step, str] | None]:
        """(the prompt shown: its re-run draft or what was sent, the attempt before it and its code as it ran)."""
        draft = self.store.draft(self.session_id, step.parent_id, step.stage)
        index = self.state.steps.index(step)
        before = next(
            (s for s in reversed(self.state.steps[:index]) if s.stage in CODE_STAGES and s.code), None
        )
        diff_base = (before, self.store.original(before, "code")) if before is not None else None
        return (draft if draft is not None else step.prompt), diff_base

    def actions(self, *, running_here: bool, has_next_item: bool, has_code: bool) -> Actions:
        """The buttons' rules. ``has_next_item``: the rail has an enabled item after the one shown;
        ``has_code``: the code pane is not empty."""
        has_session = self.session_id is not None
        # A run here, or the branch's tip running in another window or `deepones design`.
        running = running_here or bool(self.state and self.state.running_step)
        step = self.shown_step
        retry = self.is_retry(step)
        looped = retry and step is not None and step.error_type == MODEL_LOOP
        finished = step is not None and step.finished
        # Accept needs a result to accept: a finished step with an answer (or, for a hand run, its code).
        has_result = finished and bool(step.response.strip() or step.code)
        idle = has_session and not running
        return Actions(
            run_label="Run stage"
            if self.shown == NEXT
            else RETRY_LABEL
            if looped
            else RUN_AGAIN
            if retry
            else "Re-run stage (new branch)",
            run_tip="Run it again here with a higher temperature and repeat penalty (Ctrl+Return)"
            if looped
            else "Run this stage again here, on the same branch (Ctrl+Return)"
            if retry
            else "Send the prompt shown (edited or not) and run this stage (Ctrl+Return)",
            run=idle and (self.shown == NEXT or retry or (finished and step.origin == "model")),
            # On a finished branch (no next stage) the last step has nothing to go on to.
            accept=idle and has_result and has_next_item,
            accept_tip="Keep this result and show the next stage's prompt (Ctrl+Shift+Return)"
            if has_next_item or not has_result
            else "This branch is finished: there is no next stage to go on to",
            run_all=idle and self.next_stage is not None,
            stop=running_here,
            settings=idle,
            board=has_session,
            fork=idle and finished,
            # Edited code runs after a step that ran (one that ended without a result runs again instead).
            run_code=idle and finished and step.stage in RUN_STAGES and has_code,
        )

    # -- what the actions change -----------------------------------------------------------------
    def prepare_rerun(self) -> bool:
        """Before "Run stage" on a recorded step: a re-run forks a sibling branch; a looping answer run
        again gets looser sampling. False when nothing shown can run."""
        if self.shown == NEXT:
            return True
        step = self.shown_step
        if step is None:
            return False
        if not self.is_retry(step):
            self.store.fork(self.session_id, step.parent_id)
        elif step.error_type == MODEL_LOOP:
            self.store.loosen_sampling(self.session_id)  # the same settings would likely loop again
        return True

    def fork_at(self, step_id: int | None) -> None:
        self.store.fork(self.session_id, step_id)

    def designer_tip(self) -> Step | None:
        """The designer's latest stage on the branch (where a check's note is sent back to)."""
        steps = self.state.steps if self.state else []
        return next((s for s in reversed(steps) if s.stage in DESIGNER_STAGES), None)

    @staticmethod
    def demo(interpreter: str | None):
        """(task, settings) of the demo session the welcome screen starts (short limits, the app's Python)."""
        from backend.pipeline.catalog import get_task
        from backend.pipeline.state import SessionSettings

        return get_task("demo-digits"), SessionSettings(
            time_limit_s=300, train_time_limit_s=60, interpreter=interpreter
        )

    def task_for_new(self, default: str = "demo-digits"):
        """The task a session made from Chat is for: the open session's, else ``default``."""
        from backend.pipeline.catalog import get_task

        return self.state.task if self.session_id is not None and self.state else get_task(default)

    def seed(self, text: str, code: str, task_name: str, designer: str, programmer: str) -> int:
        """A new session for ``task_name`` seeded with a chat answer: the proposal (and C_R with code)."""
        from backend.pipeline.catalog import get_task
        from backend.pipeline.seed import seed_from_chat

        return seed_from_chat(self.store, get_task(task_name), designer, programmer, text, code)

    # -- edits: each a new version in the store ------------------------------------------------
    def prompt_save(self, text: str) -> Save | None:
        if self.session_id is None:
            return None
        if self.shown == NEXT:
            tip = self.state.steps[-1].id if self.state.steps else None
            return (
                ("draft", tip, self.next_stage),
                self.store.save_draft,
                (self.session_id, tip, self.next_stage, text),
            )
        if (step := self.shown_step) is not None:
            # A re-run prompt for this stage: kept as the draft after its parent (the sent prompt stays as sent).
            return (
                ("draft", step.parent_id, step.stage),
                self.store.save_draft,
                (self.session_id, step.parent_id, step.stage, text),
            )
        return None

    def response_save(self, text: str) -> Save | None:
        step = self.shown_step
        if step is None:
            return None
        step.response = text  # Accept follows what is in the pane now
        return ("response", step.id), self.save_field, (step.id, "response", text)

    def code_save(self, code: str) -> Save | None:
        step = self.shown_step
        if step is None:
            return None
        field = "reference_code" if step.stage == "improve" else "code"
        return (field, step.id), self.save_field, (step.id, field, code)

    def save_field(self, step_id: int, field: str, text: str) -> Step:
        """Save an edited field as a new version; the step, re-read, replaces the one in memory."""
        self.store.save_edit(self.session_id, step_id, field, text)
        step = self.store.step(step_id)
        if self.state is not None:
            self.state.steps = [step if s.id == step_id else s for s in self.state.steps]
        return step
