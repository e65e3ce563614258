"""The Design page's proposal-board mode: the board in place of the stages, and back.

A mixin of :class:`deepones_gui.workspaces.design.page.DesignPage` (it uses the page's session, its
body stack and :meth:`refresh`), kept apart so the page stays about stages. The board itself is
:mod:`.proposal_board`.
"""

from __future__ import annotations

from deepones_gui.workspaces.design.widgets import NEXT


class BoardMode:
    def _build_board(self) -> None:
        """The board as the body stack's third page (after the stages and the welcome)."""
        from deepones_gui.workspaces.design.proposal_board import ProposalBoardView

        self.board = ProposalBoardView(self.ctx)
        self.board.back_requested.connect(lambda: self.body.setCurrentIndex(0))
        self.board.continued.connect(self._board_continued)
        self.board.stage_running = self.is_running
        self.body.addWidget(self.board)
        self.bar.board_btn.clicked.connect(lambda: self.show_board())
        self.body.currentChanged.connect(
            lambda _index: self._stage_keys(self.body.currentWidget() is not self.board)
        )

    def _stage_keys(self, on: bool) -> None:
        """The stage view's Ctrl+Return and Ctrl+Shift+Return are off while the board is shown: two live
        shortcuts for one key in a window cancel each other (Qt calls that ambiguous and runs neither)."""
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QShortcut

        for shortcut in self.findChildren(QShortcut, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if shortcut is not self.stop_shortcut:  # Esc is live only while a stage runs (its own rule)
                shortcut.setEnabled(on)

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

    def compare_from_chat(self, prompt: str, task_name: str = "demo-digits") -> int:
        """Chat's "Compare": a new session on the current task whose board asks ``prompt``."""
        from backend.pipeline import get_task

        task = self.state.task if self.session_id is not None and self.state else get_task(task_name)
        settings = self.ctx.settings
        sid = self.create_session(
            task,
            settings.designer_model,
            settings.programmer_model,
            title=f"Compare: {' '.join(prompt.split())[:50]}",
        )
        self.show_board(prompt)
        window = self.ctx.window
        if window is not None and hasattr(window, "show_workspace"):
            window.show_workspace("design")
        return sid
