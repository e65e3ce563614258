"""The proposal board (a mode of the Design workspace): N designs for the session's task side by side.

Ask for N proposals (N samples, N designers, or both) streamed at once; each is a card (answer,
designer, tokens/s, requirement check), sortable by any measured column. "Continue with this" goes on
with a card's branch in the stage view; "Merge" asks the designer to combine two cards into a fifth;
"Compare…" diffs two cards (text, code, diagrams). The work is :mod:`backend.ideation.board`, run by
:class:`.board_runs.BoardRuns` off the GUI thread; this widget only shows cards and forwards clicks.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.ideation.board import DEFAULT_TEMPERATURE, MAX_PROPOSALS, MERGE_INSTRUCTION, ProposalBoard
from backend.ideation.cards import SORT_COLUMNS, ProposalCard, sort_cards
from deepones_gui.workspaces.design.board_runs import BoardRuns
from deepones_gui.workspaces.design.proposal_card import ProposalCardWidget


def _card_label(card: ProposalCard) -> str:
    last = next((line for line in reversed(card.text.strip().splitlines()) if line.strip()), "")
    name = last.removeprefix("Backbone:").strip() if last.startswith("Backbone:") else card.text.strip()[:40]
    return f"{card.step_id}: {name[:40]}" if name else f"{card.step_id}"


class ProposalBoardView(QWidget):
    back_requested = Signal()
    continued = Signal(int)  # the session's new tip after "Continue with this"

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProposalBoard")
        self.ctx = ctx
        self.session_id: int | None = None
        self.cards: list[ProposalCard] = []
        self.widgets: dict[int, ProposalCardWidget] = {}
        self.checking: int | None = None
        # Whether the stage view runs a stage of this session now (the page says so: set_stage_running).
        self.stage_running = False
        self.runs = BoardRuns(ctx.db_path, Path(ctx.data_dir), self)
        self.runs.event.connect(self._on_event)
        self.runs.failed.connect(lambda text: QMessageBox.warning(self, "Proposal board", text))
        self.runs.done.connect(self._on_done)
        self._build()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.back_btn = QPushButton("‹ Stages")
        self.back_btn.setToolTip("Back to the session's stages")
        self.back_btn.clicked.connect(self.back_requested)
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, MAX_PROPOSALS)
        self.n_spin.setValue(int(QSettings().value("design/board_n", 4)))
        self.n_spin.setToolTip("How many proposals to ask for at once")
        self.designers = QLineEdit()
        self.designers.setPlaceholderText("the session's designer")
        self.designers.setToolTip(
            "Designer models, comma-separated (a GGUF name, a path, an http:// endpoint)."
            "\nThe proposals are shared round-robin over them; endpoints answer at once,"
            "\na local model answers one proposal after another."
        )
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(DEFAULT_TEMPERATURE)
        self.temperature.setToolTip("Sampling temperature: higher gives more varied proposals")
        self.prompt_btn = QToolButton()
        self.prompt_btn.setText("Prompt")
        self.prompt_btn.setCheckable(True)
        self.prompt_btn.setToolTip("Show (and edit) what the designer is asked")
        self.propose_btn = QPushButton("Propose")
        self.propose_btn.setToolTip("Ask for the proposals, streamed side by side (Ctrl+Return)")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the answers or the check in progress (Esc)")
        top = QHBoxLayout()
        top.addWidget(self.back_btn)
        top.addSpacing(8)
        for label, widget in (
            ("Proposals", self.n_spin),
            ("Designers", self.designers),
            ("Temperature", self.temperature),
        ):
            top.addWidget(QLabel(label))
            top.addWidget(widget, 1 if widget is self.designers else 0)
        top.addWidget(self.prompt_btn)
        top.addWidget(self.propose_btn)
        top.addWidget(self.stop_btn)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setMaximumHeight(130)
        self.prompt_edit.setVisible(False)
        self.prompt_btn.toggled.connect(self.prompt_edit.setVisible)

        self.sort_combo = QComboBox()
        for key, (label, _desc) in SORT_COLUMNS.items():
            self.sort_combo.addItem(label, key)
        self.sort_combo.setToolTip("Order the cards by a measured column (unmeasured cards go last)")
        self.descending = QToolButton()
        self.descending.setCheckable(True)
        self.descending.setToolTip("Largest first")
        self.compare_btn = QPushButton("Compare A and B…")
        self.compare_btn.setToolTip(
            "The two proposals chosen below side by side: text, code and diagram differences"
        )
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(placeholder-text);")
        self.traces_btn = QPushButton("Show in Traces")
        self.traces_btn.setToolTip("This session's tree in Traces: every card is an attempt there")
        second = QHBoxLayout()
        second.addWidget(QLabel("Sort by"))
        second.addWidget(self.sort_combo)
        second.addWidget(self.descending)
        second.addSpacing(12)
        second.addWidget(self.status, 1)
        second.addWidget(self.traces_btn)

        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.setSpacing(8)
        self.strip_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.strip)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.empty = QLabel(
            "No proposals yet. Choose how many and which designers, then Propose: the answers "
            "stream in side by side, each one an attempt in this session's tree."
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(placeholder-text); padding: 40px;")

        self.merge_a, self.merge_b = QComboBox(), QComboBox()
        for combo, tip in (
            (self.merge_a, "Design A: the one kept as the base"),
            (self.merge_b, "Design B: the one parts are taken from"),
        ):
            combo.setMinimumContentsLength(16)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(tip)
        self.instruction = QLineEdit()
        self.instruction.setPlaceholderText(MERGE_INSTRUCTION)
        self.instruction.setToolTip('What to combine, e.g. "combine the attention block of B into A"')
        self.merge_btn = QPushButton("Merge")
        self.merge_btn.setToolTip("Ask the designer to combine B into A: a new card")
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("A"))
        bottom.addWidget(self.merge_a)
        bottom.addWidget(QLabel("B"))
        bottom.addWidget(self.merge_b)
        bottom.addWidget(self.instruction, 1)
        bottom.addWidget(self.merge_btn)
        bottom.addWidget(self.compare_btn)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.prompt_edit)
        layout.addLayout(second)
        layout.addWidget(self.empty)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(bottom)

        self.propose_btn.clicked.connect(self.propose)
        self.stop_btn.clicked.connect(self.runs.stop)
        self.merge_btn.clicked.connect(self.merge)
        self.compare_btn.clicked.connect(self.compare)
        self.traces_btn.clicked.connect(self.show_in_traces)
        self.sort_combo.currentIndexChanged.connect(lambda _i: self._sort_changed())
        self.descending.toggled.connect(lambda _on: self._lay_out_cards())
        for combo in (self.merge_a, self.merge_b):
            combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        # Live only with the focus on the board: a hidden board must not take the stage view's Ctrl+Return.
        ask = QShortcut(QKeySequence("Ctrl+Return"), self, self.propose)
        ask.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # Esc is live only while the board works, so it never takes Esc from the stage view or a dialog.
        self.esc_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.runs.stop)
        self.esc_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.esc_shortcut.setEnabled(False)
        saved = self.sort_combo.findData(QSettings().value("design/board_sort", "order"))
        self.sort_combo.setCurrentIndex(max(0, saved))
        self._sort_changed()

    # -- session -----------------------------------------------------------------------------
    def open_session(self, session_id: int, prompt: str | None = None) -> None:
        """Show ``session_id``'s board; ``prompt`` replaces the task's Propose prompt (Chat's Compare)."""
        self.session_id = session_id
        board = self._board()
        row = board.store.session_row(session_id)
        self.designers.setText(row["designer"] or "")
        self.prompt_edit.setPlainText(prompt if prompt else board.default_prompt())
        self.prompt_btn.setChecked(bool(prompt))
        self.reload()

    def _board(self) -> ProposalBoard:
        return ProposalBoard(self.ctx.db, self.session_id, root=Path(self.ctx.data_dir))

    def reload(self) -> None:
        """Re-read the cards from the session tree."""
        if self.session_id is None:
            return
        self.cards = self._board().cards()
        for card in self.cards:
            widget = self.widgets.get(card.step_id)
            if widget is None:
                widget = self.widgets[card.step_id] = ProposalCardWidget(card)
                widget.continue_requested.connect(self.continue_with)
                widget.check_requested.connect(self.check)
                widget.improvement_requested.connect(self.show_improvement)
        for step_id in set(self.widgets) - {c.step_id for c in self.cards}:
            self.widgets.pop(step_id).deleteLater()
        self._fill_merge_combos()
        self._lay_out_cards()

    def _fill_merge_combos(self) -> None:
        done = [c for c in self.cards if c.status == "done"]
        for combo, fallback in ((self.merge_a, 0), (self.merge_b, 1)):
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for card in done:
                combo.addItem(_card_label(card), card.step_id)
            index = combo.findData(keep)
            combo.setCurrentIndex(index if index >= 0 else min(fallback, combo.count() - 1))
            combo.blockSignals(False)

    def _sort_changed(self) -> None:
        key = self.sort_combo.currentData()
        QSettings().setValue("design/board_sort", key)
        self.descending.blockSignals(True)
        self.descending.setChecked(SORT_COLUMNS[key][1])
        self.descending.blockSignals(False)
        self._lay_out_cards()

    def _lay_out_cards(self) -> None:
        self.descending.setText("↓ largest first" if self.descending.isChecked() else "↑ smallest first")
        ordered = sort_cards(self.cards, self.sort_combo.currentData(), self.descending.isChecked())
        while self.strip_layout.count():
            self.strip_layout.takeAt(0)
        for card in ordered:
            widget = self.widgets[card.step_id]
            widget.show_card(card, checking=self.checking == card.step_id, busy=self.runs.running)
            self.strip_layout.addWidget(widget)
        self.strip_layout.addStretch(1)
        self.empty.setVisible(not self.cards)
        self.scroll.setVisible(bool(self.cards))
        self._update_buttons()

    def ordered_ids(self) -> list[int]:
        """The card ids in the order shown (for tests and keyboard navigation)."""
        return [
            self.strip_layout.itemAt(i).widget().card.step_id
            for i in range(self.strip_layout.count())
            if self.strip_layout.itemAt(i).widget() is not None
        ]

    def _update_buttons(self) -> None:
        busy = self.runs.running
        has_session = self.session_id is not None
        self.propose_btn.setEnabled(has_session and not busy)
        self.stop_btn.setEnabled(busy)
        self.esc_shortcut.setEnabled(busy)
        two = self.merge_a.count() >= 2 and self.merge_a.currentData() != self.merge_b.currentData()
        self.merge_btn.setEnabled(has_session and not busy and two)
        self.compare_btn.setEnabled(has_session and two)
        self.traces_btn.setEnabled(bool(self.cards))
        for widget in self.widgets.values():
            widget.set_busy(busy)
        if busy:
            self.status.setText(self.runs.what.capitalize() + "…")
        else:
            done = sum(1 for c in self.cards if c.status == "done")
            checked = sum(1 for c in self.cards if c.checked)
            self.status.setText(
                f"{len(self.cards)} proposals, {done} answered, {checked} checked" if self.cards else ""
            )

    # -- actions -----------------------------------------------------------------------------
    def _designer_list(self) -> list[str]:
        return [part.strip() for part in self.designers.text().split(",") if part.strip()]

    def propose(self) -> bool:
        if self.session_id is None or self.runs.running:
            return False
        n, temperature = self.n_spin.value(), self.temperature.value()
        designers, prompt = self._designer_list(), self.prompt_edit.toPlainText()
        QSettings().setValue("design/board_n", n)
        started = self.runs.start(
            self.session_id,
            f"asking for {n} proposals",
            lambda board: board.propose(n, designers or None, temperature, prompt),
        )
        self._update_buttons()
        return started

    def merge(self) -> bool:
        a, b = self.merge_a.currentData(), self.merge_b.currentData()
        if self.session_id is None or self.runs.running or a is None or b is None or a == b:
            return False
        instruction = self.instruction.text()
        started = self.runs.start(
            self.session_id, f"merging proposal {b} into {a}", lambda board: board.merge(a, b, instruction)
        )
        self._update_buttons()
        return started

    def check(self, step_id: int) -> bool:
        if self.session_id is None or self.runs.running:
            return False
        self.checking = step_id
        started = self.runs.start(
            self.session_id, f"checking proposal {step_id}", lambda board: board.check(step_id)
        )
        self._lay_out_cards()
        return started

    def set_stage_running(self, running: bool) -> None:
        """A stage of this session runs (or no longer does): no design is picked meanwhile."""
        self.stage_running = running

    def continue_with(self, step_id: int) -> None:
        from backend.ideation.board import BoardError

        if self.session_id is None or self.runs.running:
            return
        if self.stage_running:
            QMessageBox.information(
                self,
                "Proposal board",
                "A stage of this session is running: stop it or let it "
                "finish before continuing with another design.",
            )
            return
        try:
            tip = self._board().continue_with(step_id)
        except BoardError as exc:
            QMessageBox.information(self, "Proposal board", str(exc))
            return
        self.continued.emit(tip)

    def compare(self) -> None:
        a, b = self.merge_a.currentData(), self.merge_b.currentData()
        cards = {c.step_id: c for c in self.cards}
        if a is None or b is None or a == b:
            return
        from backend.ideation.compare import card_version, diff_designs
        from deepones_gui.workspaces.design.design_diff import DesignDiffDialog

        first, second = cards[a], cards[b]
        DesignDiffDialog(
            diff_designs(card_version(first), card_version(second)),
            (first.check or {}).get("diagram"),
            (second.check or {}).get("diagram"),
            self,
        ).open()

    def show_in_traces(self) -> None:
        if self.session_id is not None:
            self.ctx.broadcast.emit("open_trace", {"session_id": self.session_id})

    def show_improvement(self, step_id: int) -> None:
        from backend.ideation.compare import improvement_diff
        from deepones_gui.workspaces.design.design_diff import DesignDiffDialog

        board = self._board()
        card = board.card(step_id)
        diff = improvement_diff(board.store, card)
        if diff is None:
            return
        DesignDiffDialog(diff, None, None, self).open()

    # -- events ------------------------------------------------------------------------------
    def _on_event(self, kind: str, payload) -> None:
        if kind == "card":
            card: ProposalCard = payload["card"]
            if card.step_id not in self.widgets or card.status != "running":
                self.reload()
        elif kind == "chunk" and (widget := self.widgets.get(payload["step_id"])) is not None:
            widget.append_text(payload["text"])

    def _on_done(self) -> None:
        self.checking = None
        self.reload()

    # -- lifecycle ---------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.runs.running

    def shutdown(self) -> None:
        self.runs.close()
