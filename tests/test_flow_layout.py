"""FlowLayout: a row of buttons needs only its widest button and wraps onto more lines when narrow."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from deepones_gui.widgets.flow_layout import FlowLayout


def test_buttons_wrap_instead_of_widening_the_pane(qtbot):
    root = QWidget()
    qtbot.addWidget(root)
    column = QVBoxLayout(root)
    row = FlowLayout()
    buttons = [QPushButton(text) for text in ("Re-run", "Fork into Design", "Open runs in Jobs", "Note… (N)")]
    for b in buttons:
        row.add(b)
    column.addLayout(row)
    column.addWidget(QLabel("below"))
    widest = max(b.sizeHint().width() for b in buttons)
    # The widest button, not the sum of all of them as a QHBoxLayout would need.
    assert row.minimumSize().width() <= widest < sum(b.sizeHint().width() for b in buttons) / 2
    root.resize(widest + 30, 300)
    root.show()
    qtbot.waitExposed(root)
    tops = sorted({b.geometry().top() for b in buttons})
    assert len(tops) >= 3                                 # one or two per line at this width
    assert all(b.geometry().right() <= root.width() for b in buttons)
    root.resize(1000, 300)
    qtbot.waitUntil(lambda: len({b.geometry().top() for b in buttons}) == 1, timeout=2000)   # one line again
