"""The trace list as a Qt table model (rows come from backend.traces.index.query)."""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from backend.traces.index import OUTCOME_TITLES

COLUMNS = (("session_id", "#"), ("title", "Trace"), ("outcome", "Outcome"), ("attempts", "Attempts"),
           ("debug_steps", "Debug"), ("error_types", "Errors"), ("labels", "Labels"), ("task", "Task"),
           ("created_at", "Created"))
_OUTCOME_COLOURS = {"failed": "#b91c1c", "recovered": "#b45309", "clean": "#15803d", "never_ran": "#6b7280"}
ID_ROLE = Qt.ItemDataRole.UserRole


class TraceTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt naming
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == ID_ROLE:
            return row["session_id"]
        if role == Qt.ItemDataRole.DisplayRole:
            value = row.get(key)
            if key == "outcome":
                return OUTCOME_TITLES.get(value, value)
            if key in ("error_types", "labels"):
                return ", ".join(value or [])
            if key == "created_at":
                return time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else ""
            return value
        if role == Qt.ItemDataRole.ForegroundRole and key == "outcome":
            return QColor(_OUTCOME_COLOURS.get(row["outcome"], "#334155"))
        if role == Qt.ItemDataRole.ToolTipRole and key == "title":
            return f"{row['title']}\ndesigner: {row['designer']}\nprogrammer: {row['programmer']}"
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("session_id", "attempts", "debug_steps"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def session_id(self, row: int) -> int | None:
        return self.rows[row]["session_id"] if 0 <= row < len(self.rows) else None

    def row_of(self, session_id: int) -> int | None:
        for i, r in enumerate(self.rows):
            if r["session_id"] == session_id:
                return i
        return None
