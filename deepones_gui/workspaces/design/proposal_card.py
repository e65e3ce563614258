"""One proposal on the board: the answer, who gave it, how fast, and its requirement check.

A view only: it shows a :class:`backend.ideation.cards.ProposalCard` and turns its buttons into
signals carrying the card's step id; the board decides what they do.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from backend.ideation.cards import ProposalCard
from backend.ideation.formatting import human_count
from backend.units import format_bytes

CARD_WIDTH = 258  # four cards side by side beside the workspace rail of a 1280-px window
VERDICT_STYLE = {
    "green": ("#dafbe1", "#116329"),
    "amber": ("#fff8c5", "#7d4e00"),
    "red": ("#ffebe9", "#a40e26"),
}
STATUS_TEXT = {
    "running": "answering…",
    "done": "",
    "error": "failed",
    "stopped": "stopped",
    "interrupted": "interrupted",
}


def _short_model(spec: str) -> str:
    from deepones_gui.context import describe_model

    return describe_model(spec)


def metric_rows(card: ProposalCard) -> list[tuple[str, str]]:
    """(label, value) pairs shown under the answer; '–' where nothing was measured."""
    check = card.check if card.checked and card.check and card.check.get("status") == "ok" else {}
    speed = human_count(card.tokens_per_s) if card.tokens_per_s else "–"
    ms = check.get("forward_ms")
    forward = "–" if ms is None else f"{ms:.1f} ms" if ms >= 1 else f"{ms:.2g} ms"
    return [
        ("Tokens", f"{card.tokens:,}" if card.tokens else "–"),
        ("Tokens/s", speed),
        ("Params", human_count(check["params"]) if check.get("params") is not None else "–"),
        (
            "FLOPs/ex",
            human_count(check["flops_per_sample"]) if check.get("flops_per_sample") is not None else "–",
        ),
        (
            "Memory",
            format_bytes(check["peak_memory_bytes"]) if check.get("peak_memory_bytes") is not None else "–",
        ),
        ("Forward", forward),
    ]


def check_line(card: ProposalCard, checking: bool = False) -> tuple[str, str | None]:
    """The check's one-line state and the verdict colour (None: no verdict)."""
    if checking:
        return "Checking… (a sandboxed job builds the model and runs one step)", None
    if card.checked and card.check:
        verdict = str(card.check.get("verdict") or "red")
        reasons = card.check.get("reasons") or []
        if card.check.get("status") != "ok":
            head = "The model could not be checked"
        else:
            head = {
                "green": "Meets the requirements",
                "amber": "Close to a limit",
                "red": "Over a requirement",
            }[verdict]
        if verdict == "green":
            return f"✓ {head}", verdict  # the reasons ("within every requirement") add nothing
        return f"{head}" + (f": {'; '.join(reasons)}" if reasons else ""), verdict
    if card.check_stale:
        return "Not checked yet: the branch's program changed since the last check", None
    if not card.code.strip():
        return "Not checked yet: no model code (continue with it and implement it to check it)", None
    return "Not checked yet", None


class ProposalCardWidget(QFrame):
    continue_requested = Signal(int)
    check_requested = Signal(int)
    improvement_requested = Signal(int)

    def __init__(self, card: ProposalCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("proposalCard")
        self.setFixedWidth(CARD_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("QFrame#proposalCard { border: 1px solid #d0d7de; border-radius: 8px; }")
        self.card = card
        self.checking = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.title)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setMinimumHeight(120)
        lay.addWidget(self.text, 1)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(1)
        self.values: dict[str, QLabel] = {}
        for i, (label, _value) in enumerate(metric_rows(card)):
            name = QLabel(label)
            name.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(name, i // 2, (i % 2) * 2)
            grid.addWidget(value, i // 2, (i % 2) * 2 + 1)
            self.values[label] = value
        lay.addLayout(grid)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.verdict)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self.continue_btn = QPushButton("Continue with this")
        self.continue_btn.setToolTip(
            "Go on with this design in the session: its branch becomes the one worked on"
        )
        self.check_btn = QPushButton("Check")
        self.improve_btn = QPushButton("Improvement…")
        self.improve_btn.setToolTip("The improved architecture A_I against this proposal A_B, as a diff")
        for b in (self.continue_btn, self.check_btn, self.improve_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.continue_btn.clicked.connect(lambda: self.continue_requested.emit(self.card.step_id))
        self.check_btn.clicked.connect(lambda: self.check_requested.emit(self.card.step_id))
        self.improve_btn.clicked.connect(lambda: self.improvement_requested.emit(self.card.step_id))
        self.show_card(card)

    def show_card(self, card: ProposalCard, *, checking: bool = False, busy: bool = False) -> None:
        self.card, self.checking = card, checking
        status = STATUS_TEXT.get(card.status, card.status)
        temp = f" · T {card.temperature:g}" if card.temperature is not None else ""
        kind = " · merged" if card.merged_from else ""
        state = f" · <i>{status}</i>" if status else ""
        self.title.setText(
            f"<b>Proposal {card.step_id}</b>{kind}{state}<br>"
            f"<span style='color:gray'>{_short_model(card.designer)}{temp}</span>"
        )
        self.title.setToolTip(
            f"Designer: {card.designer}"
            + (
                f"\nMerged from proposals {card.merged_from[0]} (A) and {card.merged_from[1]} (B): {card.instruction}"
                if len(card.merged_from) == 2
                else ""
            )
        )
        body = card.text if card.text.strip() else (card.error or "")
        if self.text.toMarkdown() != body:
            self.text.setMarkdown(body)
        for label, value in metric_rows(card):
            self.values[label].setText(value)
        line, verdict = check_line(card, checking)
        bg, fg = VERDICT_STYLE.get(verdict or "", ("transparent", "palette(text)"))
        self.verdict.setText(line)
        self.verdict.setStyleSheet(f"background: {bg}; color: {fg}; padding: 3px; border-radius: 4px;")
        reasons = "\n".join((card.check or {}).get("reasons") or []) if card.checked else ""
        self.verdict.setToolTip(
            "\n".join(filter(None, [card.code_source and f"Checked: {card.code_source}", reasons]))
        )
        self.set_busy(busy)

    def set_busy(self, busy: bool) -> None:
        """Buttons are live only when they can act (an operation runs: none is)."""
        card = self.card
        done = card.status == "done"
        self.continue_btn.setEnabled(done and not busy)
        has_code = bool(card.code.strip())
        self.check_btn.setEnabled(done and has_code and not busy)
        self.check_btn.setText("Check again" if card.checked else "Check")
        self.check_btn.setToolTip(
            f"Measure the model ({card.code_source}) against the task's requirements in a sandboxed job"
            if has_code
            else "No model code to check yet: continue with this design and implement it first"
        )
        self.improve_btn.setVisible(card.improve_step_id is not None)
        self.improve_btn.setEnabled(not busy)

    def append_text(self, text: str) -> None:
        """A streamed piece of the answer (the card shows it as it comes)."""
        self.card.text += text
        cursor = self.text.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(text)
