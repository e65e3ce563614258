"""Saving what the user types, debounced: each edit becomes a new version in the store.

Typing queues a save under a key (the same key replaces the older save); the queue is written
after a pause, and at once before anything else reads or changes the session (flush).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from deepones_gui.workspaces.design.widgets import NEXT

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 700


class EditQueue(QObject):
    def __init__(self, on_failure: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[tuple, tuple[Callable, tuple]] = {}
        self._on_failure = on_failure
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def queue(self, key: tuple, fn: Callable, *args) -> None:
        self._pending[key] = (fn, args)
        self._timer.start()

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for fn, args in pending.values():
            try:
                fn(*args)
            except Exception:
                log.exception("saving an edit failed")
                self._on_failure()


class StageEditing:
    """The Design page's edit handlers: prompt drafts, responses and code, each saved as a new version.

    Mixed into the page; uses its ``edits`` queue, ``sessions`` store, ``state``, ``shown`` and panes.
    """

    def flush_edits(self) -> None:
        self.edits.flush()

    def _prompt_edited(self) -> None:
        if self.view.loading or self.session_id is None:
            return
        text = self.prompt_edit.toPlainText()
        if self.shown == NEXT:
            tip = self.state.steps[-1].id if self.state.steps else None
            self.edits.queue(("draft", tip, self.next_stage), self.sessions.save_draft, self.session_id, tip,
                             self.next_stage, text)
        elif (step := self._step(self.shown)) is not None:
            # A re-run prompt for this stage: kept as the draft after its parent (the sent prompt stays as sent).
            self.edits.queue(("draft", step.parent_id, step.stage), self.sessions.save_draft, self.session_id,
                             step.parent_id, step.stage, text)

    def _response_edited(self) -> None:
        if self.view.loading or self.session_id is None or self.shown in (None, NEXT):
            return
        self.edits.queue(("response", self.shown), self._save_response, self.shown, self.response_edit.toPlainText())
        if (step := self._step(self.shown)) is not None:
            step.response = self.response_edit.toPlainText()   # Accept follows what is in the pane now
        self._update_buttons()

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
        self.edits.queue((field, step.id), self._save_code, step.id, field, code)
        self._update_buttons()

    def _save_code(self, step_id: int, field: str, code: str) -> None:
        self.sessions.save_edit(self.session_id, step_id, field, code)
        step = self.sessions.step(step_id)
        for i, s in enumerate(self.state.steps):
            if s.id == step_id:
                self.state.steps[i] = step
        if self.shown == step_id and field == "code":
            self.view.set_code_title(step)
