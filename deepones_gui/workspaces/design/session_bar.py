"""The Design workspace's top bar: the session and branch pickers, settings, and the session's models."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from backend.pipeline.state import SessionState, Step


def branch_labels(leaves: list[Step], state: SessionState) -> tuple[list[tuple[str, int]], int]:
    """(label, tip id) per branch, oldest first, and the index of the branch being worked on.

    The branch being worked on is the one holding the session's tip. A fork (the tip inside an
    older branch, nothing run after it yet) is "New branch after <stage>"; a session with no
    step at all has one branch that has not started.
    """
    tip = state.steps[-1].id if state.steps else None
    on_branch = {s.id for s in state.steps}
    items: list[tuple[str, int]] = []
    current = -1
    for n, leaf in enumerate(reversed(leaves), 1):
        score = f" · {leaf.score:g}" if leaf.score is not None else ""
        items.append((f"Branch {n}: {leaf.title} · {leaf.status}{score}", leaf.id))
        if leaf.id in on_branch:
            current = len(items) - 1
    if not leaves:
        items.append(("Branch 1 · not started yet", 0))
        current = 0
    elif current < 0:
        after = next((s.title for s in state.steps if s.id == tip), None)
        items.append((f"New branch after {after}" if after else "New branch from the start", tip or 0))
        current = len(items) - 1
    return items, current


class SessionBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_combo = QComboBox()
        self.session_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # Widths in characters sized so the bar fits a 1280-px screen beside the workspace rail;
        # longer names are elided by the combo, whole in its popup.
        self.session_combo.setMinimumContentsLength(28)
        self.session_combo.setToolTip("Design sessions, newest first")
        self.new_btn = QPushButton("New session…")
        self.settings_btn = QPushButton("Settings…")
        self.settings_btn.setToolTip("This session's designer, programmer and limits (e.g. switch to a capable programmer)")
        self.board_btn = QPushButton("Proposals…")
        self.board_btn.setToolTip("The proposal board: several designs for this task side by side, checked and compared")
        self.branch_combo = QComboBox()
        self.branch_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.branch_combo.setMinimumContentsLength(18)
        self.branch_combo.setToolTip("Every fork is a branch; the other branches stay in the session")
        self.info = QLabel()
        self.info.setStyleSheet("color: palette(placeholder-text);")
        # Long model paths must never widen the window: the label is clipped, the tooltip has it all.
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Session"))
        top.addWidget(self.session_combo, 2)
        top.addWidget(self.new_btn)
        top.addWidget(self.settings_btn)
        top.addWidget(self.board_btn)
        top.addSpacing(12)
        top.addWidget(QLabel("Branch"))
        top.addWidget(self.branch_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.info)

    def fill_sessions(self, rows: list[dict], current: int | None) -> None:
        self.session_combo.blockSignals(True)
        self.session_combo.clear()
        for row in rows:
            self.session_combo.addItem(f"#{row['id']}  {row['title']}  · {row['status']}", row["id"])
        if current is not None:
            self.session_combo.setCurrentIndex(max(0, self.session_combo.findData(current)))
        self.session_combo.blockSignals(False)

    def fill_branches(self, leaves: list[Step], state: SessionState) -> None:
        items, current = branch_labels(leaves, state)
        self.branch_combo.blockSignals(True)
        self.branch_combo.clear()
        for label, tip in items:
            self.branch_combo.addItem(label, tip)
        self.branch_combo.setCurrentIndex(current)
        # One branch that has not started: nothing to switch to.
        self.branch_combo.setEnabled(bool(leaves))
        self.branch_combo.blockSignals(False)

    def show_models(self, state: SessionState, row: dict) -> None:
        from deepones_gui.context import describe_model

        task = state.task
        self.info.setText(f"{task.title} · {task.metric} ({task.direction} is better) · designer "
                          f"{describe_model(row['designer'])} · programmer {describe_model(row['programmer'])}")
        self.info.setToolTip(f"{task.title}\nDesigner: {row['designer']}\nProgrammer: {row['programmer']}")
