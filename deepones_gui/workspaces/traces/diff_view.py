"""Side-by-side diff of two attempts' code (rows from backend.traces.diff.side_by_side)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from backend.traces.diff import DiffRow

_BG = {"delete": ("#fee2e2", None), "insert": (None, "#dcfce7"), "replace": ("#fee2e2", "#dcfce7")}


class SideBySideDiff(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 4, parent)
        from deepones_gui.widgets.code_editor import monospace_font

        self.setFont(monospace_font())
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.verticalHeader().hide()
        self.setShowGrid(False)
        self.setWordWrap(False)
        # Code is never elided: each side is as wide as its longest line, and the table scrolls.
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setHorizontalScrollMode(QTableWidget.ScrollMode.ScrollPerPixel)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 2)
        self.rows: list[DiffRow] = []

    def show_rows(self, rows: list[DiffRow], left_title: str, right_title: str) -> None:
        self.rows = rows
        self.setHorizontalHeaderLabels(["", left_title, "", right_title])
        self.setRowCount(len(rows))
        for i, r in enumerate(rows):
            left_bg, right_bg = _BG.get(r.kind, (None, None))
            cells = ((str(r.left_no or ""), None), (r.left, left_bg), (str(r.right_no or ""), None), (r.right, right_bg))
            for col, (text, bg) in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (0, 2):
                    item.setForeground(QColor("#94a3b8"))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if bg:
                    item.setBackground(QColor(bg))
                self.setItem(i, col, item)
        first = next((i for i, r in enumerate(rows) if r.kind != "equal"), 0)
        if rows:
            self.scrollToItem(self.item(first, 1), QTableWidget.ScrollHint.PositionAtCenter)

    def changed_rows(self) -> list[DiffRow]:
        return [r for r in self.rows if r.kind != "equal"]
