"""The Chat workspace: conversations with a local designer model or any OpenAI-compatible endpoint.

Views only: conversations live in :class:`backend.llm.conversations.ConversationStore`, models
behind :func:`backend.llm.resolve.get_backend`, streaming in :class:`ChatRunner`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from backend.llm.base import BackendError, ChatBackend
from backend.llm.conversations import (
    ConversationStore,
    history_for_model,
    settings_from_json,
    settings_to_json,
)
from backend.llm.conversations import title_from as make_title
from backend.llm.degenerate import is_loop_stop, retry_settings
from backend.llm.model_spec import ModelSpec
from backend.recovery import InterruptedWork
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext, describe_model
from deepones_gui.workspaces.chat.empty_state import ChatEmptyState
from deepones_gui.workspaces.chat.message_widget import MessageWidget
from deepones_gui.workspaces.chat.model_picker import ModelPicker
from deepones_gui.workspaces.chat.runner import ChatRunner
from deepones_gui.workspaces.chat.settings_panel import ChatSettingsPanel
from deepones_gui.workspaces.chat.sidebar import ChatSidebar
from deepones_gui.workspaces.page_protocol import WorkspacePage

log = logging.getLogger(__name__)
STOPPED_BEFORE_ANSWER = ("The model stopped before answering: the app or the model process ended while this "
                         "question was being answered.")

def _chat_formats(*, progress, partial, cancel) -> list[str]:
    from backend.llm.chat_formats import chat_formats

    return chat_formats()


class ChatInput(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line."""

    def __init__(self, on_send) -> None:
        super().__init__()
        self._on_send = on_send
        self.setPlaceholderText("Ask the designer… (Enter to send, Shift+Enter for a new line)")
        self.setFixedHeight(84)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._on_send()
            return
        super().keyPressEvent(event)


class ChatPage(WorkspacePage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.store = ConversationStore(ctx.db)
        self.chat_id: int | None = None
        self.runner = ChatRunner(self)
        self.unanswered: MessageWidget | None = None   # the 'model stopped' notice under an unanswered question
        self._backends: dict[tuple[str, str], ChatBackend] = {}
        self._streaming: MessageWidget | None = None
        self._pending: dict | None = None
        self._editing: tuple[int | None, int] | None = None   # (parent id, edited message id)
        self._build()
        self.runner.text_ready.connect(self._on_text)
        self.runner.first_text.connect(lambda _s: self._streaming and self._streaming.stats.setText("…"))
        self.runner.notice.connect(lambda text: self._streaming and self._streaming.show_note(text))
        self.runner.failed.connect(self._on_failed)
        self.runner.finished.connect(self._on_finished)
        ctx.settings_changed.connect(self._load_models)
        self.refresh_chats()
        self.show_chat(None)
        self._load_models()
        run_in_background(_chat_formats, on_result=self.settings.set_template_choices)

    # -- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        split = QSplitter()
        split.setChildrenCollapsible(False)
        outer.addWidget(split)

        self.sidebar = ChatSidebar()
        self.sidebar.chat_selected.connect(self.show_chat)
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.rename_requested.connect(self._rename)
        self.sidebar.delete_requested.connect(self.delete_chat)
        self.sidebar.search_changed.connect(lambda _t: self.refresh_chats())
        split.addWidget(self.sidebar)

        center = QWidget()
        col = QVBoxLayout(center)
        col.setContentsMargins(4, 0, 4, 0)
        self.picker = ModelPicker()
        self.picker.spec_changed.connect(self._model_changed)
        self.toggle_settings = QPushButton("Settings")
        self.toggle_settings.setCheckable(True)
        self.toggle_settings.setChecked(True)
        self.toggle_settings.setToolTip("Show or hide the system prompt and generation settings")
        self.picker.bar.addWidget(self.toggle_settings)
        col.addWidget(self.picker)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.thread_host = QWidget()
        self.thread = QVBoxLayout(self.thread_host)
        self.thread.setContentsMargins(10, 10, 10, 10)
        self.thread.setSpacing(10)
        self.thread.addStretch(1)
        self.scroll.setWidget(self.thread_host)
        self._stick = True
        bar_v = self.scroll.verticalScrollBar()
        bar_v.valueChanged.connect(lambda v: setattr(self, "_stick", v >= bar_v.maximum() - 40))
        bar_v.rangeChanged.connect(lambda _a, b: self._stick and bar_v.setValue(b))
        col.addWidget(self.scroll, 1)

        self.edit_banner = QLabel()
        self.edit_banner.setStyleSheet("background: #fff8c5; padding: 4px; border-radius: 4px;")
        self.edit_banner.hide()
        col.addWidget(self.edit_banner)
        row = QHBoxLayout()
        self.input = ChatInput(self.send)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.cancel_edit = QPushButton("Cancel edit")
        self.cancel_edit.clicked.connect(self._end_edit)
        self.cancel_edit.hide()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.cancel_edit)
        row.addLayout(buttons)
        col.addLayout(row)
        split.addWidget(center)

        self.settings = ChatSettingsPanel()
        self.settings.changed.connect(self._save_chat_settings)
        self.toggle_settings.toggled.connect(self.settings.setVisible)
        split.addWidget(self.settings)
        split.setStretchFactor(1, 1)
        split.setSizes([220, 760, 290])

        QShortcut(QKeySequence("Esc"), self, activated=self.stop)
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.new_chat)

    # -- models -----------------------------------------------------------------------------------------
    def _load_models(self) -> None:
        self.picker.load(self.ctx.settings.designer_model, self.ctx.settings.programmer_model)

    def select_model(self, spec: str) -> None:
        self.picker.select(spec)

    def current_spec(self) -> str:
        return self.picker.current_spec()

    def _model_changed(self, spec: str) -> None:
        if self.chat_id is not None:
            self.store.update_chat(self.chat_id, model=spec)
        self._preload(spec)

    def _preload(self, spec: str) -> None:
        """Load a local model in the background as soon as it is chosen, so the first answer starts fast."""
        if not ModelSpec.parse(spec).is_local or self.runner.running:
            return
        try:
            backend = self._backend_for(spec)
        except BackendError:
            return  # the error is shown when the user sends
        ensure = getattr(backend, "ensure_loaded", None)
        if ensure is not None:
            settings = self.settings.generation_settings()
            run_in_background(lambda *, progress, partial, cancel: ensure(settings),
                              on_error=lambda exc, _tb: log.info("preloading %s failed: %s", spec, exc))

    def _backend_for(self, spec: str) -> ChatBackend:
        from backend.llm.resolve import get_backend

        fmt = self.settings.chat_format()
        key = (spec, fmt)
        if key not in self._backends:
            options = {"chat_format": fmt} if fmt else {}
            self._backends[key] = get_backend(spec, **options)
        return self._backends[key]

    # -- chats ------------------------------------------------------------------------------------------
    def refresh_chats(self) -> None:
        self.sidebar.set_chats(self.store.list_chats(self.sidebar.search.text()), self.chat_id)

    def new_chat(self) -> None:
        if self.runner.running:
            return
        self.chat_id = None
        self.sidebar.list.clearSelection()
        self.show_chat(None)
        self.input.setFocus()

    def _rename(self, chat_id: int, title: str) -> None:
        self.store.rename_chat(chat_id, title)
        self.refresh_chats()

    def delete_chat(self, chat_id: int, confirm: bool = True) -> None:
        if self.runner.running:
            return
        chat = self.store.get_chat(chat_id)
        if chat is None:
            return
        if confirm and QMessageBox.question(
            self, "Delete chat", f"Delete “{chat['title']}” and all its messages? This cannot be undone.",
        ) != QMessageBox.StandardButton.Yes:
            return
        self.store.delete_chat(chat_id)
        if self.chat_id == chat_id:
            self.chat_id = None
            self.show_chat(None)
        self.refresh_chats()

    def show_chat(self, chat_id: int | None) -> None:
        """Show ``chat_id`` as a click on it in the list does (None: an empty new chat)."""
        if self.runner.running and chat_id != self.chat_id:
            return
        self._end_edit()
        self.chat_id = chat_id
        chat = self.store.get_chat(chat_id) if chat_id is not None else None
        if chat is not None:
            gen, extra = settings_from_json(chat["settings"])
            self.settings.set_values(gen, chat["system_prompt"], extra.get("chat_format", ""))
            if chat["model"] and self.picker.ready:
                self.select_model(chat["model"])
        self._render()

    def _clear_thread(self) -> None:
        while self.thread.count() > 1:
            item = self.thread.takeAt(0)
            if item.widget():
                item.widget().deleteLater()

    def _render(self) -> None:
        self._clear_thread()
        self.unanswered = None
        self._stick = True
        path = self.store.path(self.chat_id) if self.chat_id is not None else []
        if not path:
            self.thread.insertWidget(0, self._empty_state())
            return
        for m in path:
            self._add_widget(m.role, m)
        if path[-1].role == "user" and self._pending is None:
            self._add_unanswered(path[-1])

    def _add_unanswered(self, question) -> None:
        """A question whose answer never came (the app or the model process stopped): say so, offer Retry."""
        w = self._add_widget("assistant", title=describe_model(self.current_spec()))
        w.show_error(STOPPED_BEFORE_ANSWER, retryable=True)
        w.retry_button.clicked.disconnect()
        w.retry_button.clicked.connect(lambda: self._retry_question(question.id))
        self.unanswered = w

    def _retry_question(self, user_id: int) -> None:
        if self.chat_id is not None and not self.runner.running:
            self._generate(user_id)

    def open_item(self, item: InterruptedWork) -> bool:
        if item.kind != "chat":
            return False
        self.resume_interrupted(item.target["chat_id"])
        return True

    def resume_interrupted(self, chat_id: int) -> None:
        """Open ``chat_id`` and answer its unanswered last question (after a crash)."""
        if self.runner.running:
            return
        self.refresh_chats()
        self.show_chat(chat_id)
        path = self.store.path(chat_id)
        if path and path[-1].role == "user":
            self._generate(path[-1].id)

    def _empty_state(self) -> QWidget:
        box = ChatEmptyState()
        box.suggestion_chosen.connect(lambda text: (self.input.setPlainText(text), self.input.setFocus()))
        return box

    def _add_widget(self, role: str, message=None, title: str | None = None) -> MessageWidget:
        if title is None:
            title = "You" if role == "user" else describe_model((message.model if message else "") or "")
        w = MessageWidget(role, title)
        if message is not None:
            w.set_message(message)
        w.edit_requested.connect(self._start_edit)
        w.regenerate_requested.connect(self.regenerate)
        w.retry_requested.connect(self.retry)
        w.branch_requested.connect(self._switch_branch)
        w.send_to_design.connect(self._send_to_design)
        w.compare_requested.connect(lambda prompt: self.ctx.broadcast.emit("compare_in_design", {"prompt": prompt}))
        w.check_code.connect(self.check_code)
        self.thread.insertWidget(self.thread.count() - 1, w)
        return w

    def _save_chat_settings(self) -> None:
        if self.chat_id is None:
            return
        self.store.update_chat(
            self.chat_id, system_prompt=self.settings.system_prompt(),
            settings=settings_to_json(self.settings.generation_settings(), chat_format=self.settings.chat_format(),
                                      preset=self.settings.preset.currentText()))

    # -- sending ----------------------------------------------------------------------------------------
    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self.runner.running:
            return
        spec = self.current_spec()
        if self.chat_id is None:
            self.chat_id = self.store.create_chat(make_title(text), self.settings.system_prompt(), spec)
            self._save_chat_settings()
        if self._editing is not None:
            parent_id = self._editing[0]
        else:
            path = self.store.path(self.chat_id)
            parent_id = path[-1].id if path else None
        self._end_edit()
        self.input.clear()
        user_id = self.store.add_message(self.chat_id, parent_id, "user", text)
        self.refresh_chats()
        self._generate(user_id)

    def regenerate(self, assistant_id: int) -> None:
        msg = next((m for m in self.store.messages(self.chat_id) if m.id == assistant_id), None) \
            if self.chat_id is not None else None
        if msg is not None and msg.parent_id is not None and not self.runner.running:
            self._generate(msg.parent_id)

    def retry(self, failed_id: int) -> None:
        if self.chat_id is None or self.runner.running:
            return
        msg = next((m for m in self.store.messages(self.chat_id) if m.id == failed_id), None)
        if msg is None or msg.parent_id is None:
            return
        looped = is_loop_stop(msg.error)
        if looped:
            # "Retry with other settings": the same settings would likely loop again; the panel shows the new ones.
            self.settings.set_values(retry_settings(self.settings.generation_settings()),
                                     self.settings.system_prompt(), self.settings.chat_format())
            self._save_chat_settings()
        self.store.delete_message(failed_id)  # a failure is not an answer worth keeping as a branch
        if not looped:  # a model that looped is healthy: keep it loaded
            self._backends.pop((msg.model or "", self.settings.chat_format()), None)
        self._generate(msg.parent_id)

    def _generate(self, user_id: int) -> None:
        chat_id = self.chat_id
        assert chat_id is not None
        spec = self.current_spec()
        self.store.set_leaf(chat_id, user_id)
        # Pending before rendering: the question is being answered, not left unanswered.
        self._pending = {"chat_id": chat_id, "parent_id": user_id, "spec": spec, "error": None}
        self._render()
        branch = self.store.branch_to(chat_id, user_id)
        history = history_for_model(branch, self.settings.system_prompt())
        settings = self.settings.generation_settings()
        self._streaming = self._add_widget("assistant", title=describe_model(spec))
        self._streaming.stats.setText("Loading the model…" if ModelSpec.parse(spec).is_local
                                      else "Waiting for the first token…")
        self._streaming.set_busy(True)
        self._set_busy(True)
        try:
            backend = self._backend_for(spec)
        except BackendError as exc:
            self._pending["error"] = str(exc)
            self._on_finished(None, False)
            return
        self.runner.start(backend, history, settings)

    def stop(self) -> None:
        if self.runner.running:
            self.runner.stop()

    def _on_text(self, batch: str) -> None:
        if self._streaming is not None:
            self._streaming.append_text(batch)

    def _on_failed(self, message: str, _retryable: bool) -> None:
        if self._pending is not None:
            self._pending["error"] = message

    def _on_finished(self, stats, stopped: bool) -> None:
        pending, self._pending = self._pending, None
        self._streaming = None
        self._set_busy(False)
        if pending is None:
            return
        text = self.runner.text if stats is not None else ""
        if pending["error"]:
            self.store.add_message(pending["chat_id"], pending["parent_id"], "assistant", text,
                                   model=pending["spec"], error=pending["error"])
        elif stats is not None and stats.stop_reason:  # the answer looped: keep what came, say why, offer a retry
            self.store.add_message(pending["chat_id"], pending["parent_id"], "assistant", text,
                                   model=pending["spec"], stats=stats, error=stats.stop_reason)
        else:
            if stopped:
                text = text + "\n\n*[stopped]*" if text else "*[stopped before the first token]*"
            self.store.add_message(pending["chat_id"], pending["parent_id"], "assistant", text,
                                   model=pending["spec"], stats=stats)
        if self.chat_id == pending["chat_id"]:
            self._render()
        self.refresh_chats()

    def _set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.sidebar.setEnabled(not busy)
        self.picker.setEnabled(not busy)
        self.sidebar.setToolTip("Stop the answer to switch chats" if busy else "")

    # -- editing and branches ---------------------------------------------------------------------------
    def _start_edit(self, message_id: int) -> None:
        if self.chat_id is None or self.runner.running:
            return
        msg = next((m for m in self.store.messages(self.chat_id) if m.id == message_id), None)
        if msg is None:
            return
        self._editing = (msg.parent_id, msg.id)
        self.input.setPlainText(msg.content)
        self.input.setFocus()
        self.edit_banner.setText("Editing an earlier message: sending creates a new branch; the old one is kept "
                                 "(switch with ‹ ›).")
        self.edit_banner.show()
        self.cancel_edit.show()

    def _end_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.input.clear()
        self.edit_banner.hide()
        self.cancel_edit.hide()

    def _switch_branch(self, message_id: int) -> None:
        if self.chat_id is not None and not self.runner.running:
            self.store.switch_branch(self.chat_id, message_id)
            self._render()

    def _send_to_design(self, payload: dict) -> None:
        self.ctx.broadcast.emit("send_to_design", payload)
        self.ctx.say("Sent to Design", 4000)

    def check_code(self, code: str) -> None:
        """A code block's "Check": its model sized and drawn in a dialog (the check runs as a job)."""
        from deepones_gui.ideation.check_dialog import CheckDialog

        self.check_dialog = CheckDialog(code, Path(self.ctx.data_dir), self)
        self.check_dialog.show()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self.runner.running:
            self.runner.stop()
            self.runner.wait(10)
        for backend in self._backends.values():
            backend.close()
        # A model preload or metadata read may still be running on the pool: let it land first.
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(10_000)

    def ready(self) -> bool:
        return self.picker.ready and not self.runner.running
