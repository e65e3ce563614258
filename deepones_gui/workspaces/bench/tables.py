"""Table 2, Table 3 and a cell's runs as Qt tables; they only render what backend.bench computed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from backend.bench.report import model_label

GAIN, LOSS = QColor("#c8f0c8"), QColor("#f6caca")
# A column is never wider than this: a long cell (a designer's rambling "backbone", a long path) is
# elided by the view and shown whole in its tooltip, instead of pushing the other columns away.
MAX_COLUMN_PX = 240
EMPTY = ("", "-")


def _num(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _one_line(text: str) -> str:
    """Model output squeezed onto one line (newlines and runs of spaces become one space)."""
    return " ".join(str(text).split())


class _Table(QTableWidget):
    HEADERS: list[str] = []
    # Columns hidden while no row has anything in them (e.g. "Gain vs base" without a base row).
    OPTIONAL: frozenset[str] = frozenset()

    def __init__(self) -> None:
        super().__init__(0, len(self.HEADERS))
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        # Sized to contents once per fill (fit_columns), capped, then the user may drag them.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.fit_columns()   # before the first rows too: headers whole, not cut at the default 100 px

    def _set(self, r: int, c: int, text: str, *, tip: str = "", data=None, color: QColor | None = None) -> None:
        text = _one_line(text)
        item = QTableWidgetItem(text)
        if len(text) > 30 and text not in tip:
            # The cell may be elided: its whole text is in the tooltip (above what the tooltip said).
            tip = f"{text}\n\n{tip}" if tip else text
        if tip:
            item.setToolTip(tip)
        if data is not None:
            item.setData(Qt.ItemDataRole.UserRole, data)
        if color is not None:
            item.setBackground(color)
        self.setItem(r, c, item)

    def fit_columns(self) -> None:
        """Hide optional columns with nothing in them; size the rest to contents, at most MAX_COLUMN_PX."""
        for c, title in enumerate(self.HEADERS):
            empty = all((self.item(r, c) is None or self.item(r, c).text() in EMPTY) for r in range(self.rowCount()))
            self.setColumnHidden(c, title in self.OPTIONAL and empty)
        self.resizeColumnsToContents()
        for c in range(self.columnCount()):
            if self.columnWidth(c) > MAX_COLUMN_PX:
                self.setColumnWidth(c, MAX_COLUMN_PX)
        # The header picks the section to stretch when the flag is set: set it again, so the last
        # *visible* column fills the row after the last one was hidden or shown.
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setStretchLastSection(True)


class Table2View(_Table):
    """Mean / best / worst / exec time of the best / success per (task, designer, variant).

    "+" rows are coloured by gain (green) or loss (red) against the base row. Clicking a row
    emits ``cell_clicked_runs(task, designer, variant)``.
    """

    HEADERS = ["Task", "Designer", "Variant", "Mean", "Best", "Worst", "Best exec (s)", "Success", "Gain vs base"]
    OPTIONAL = frozenset({"Gain vs base"})   # empty unless a "+" row has a base row to compare with
    cell_clicked_runs = Signal(str, str, str)

    def __init__(self) -> None:
        super().__init__()
        self.cellClicked.connect(self._clicked)
        self.rows: list = []

    def set_rows(self, rows: list) -> None:
        self.rows = rows
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            plus = row.variant == "plus"
            color = None
            if plus and row.gain is not None and abs(row.gain) > 1e-9:
                color = GAIN if row.gain > 0 else LOSS
            rate = "-" if row.success_rate is None else f"{row.succeeded}/{row.runs} ({100 * row.success_rate:.0f}%)"
            cells = [row.task, model_label(row.designer), "+" if plus else "base", _num(row.mean), _num(row.best),
                     _num(row.worst), _num(row.best_exec_s, 3), rate, "" if row.gain is None else f"{row.gain:+.4g}"]
            tips = {3: f"{row.direction} is better", 4: f"{row.direction} is better"}
            for c, text in enumerate(cells):
                self._set(r, c, text, tip=tips.get(c, row.designer if c == 1 else ""), data=(row.task, row.designer, row.variant),
                          color=color if c >= 3 else None)
        self.fit_columns()

    def _clicked(self, r: int, _c: int) -> None:
        if 0 <= r < len(self.rows):
            row = self.rows[r]
            self.cell_clicked_runs.emit(row.task, row.designer, row.variant)


class Table3View(_Table):
    HEADERS = ["Task", "Designer", "Most common model", "Most common improvement", "Best case", "Best score"]

    def set_rows(self, rows: list) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row.task, model_label(row.designer),
                     f"{row.backbone} ({row.backbone_count})" if row.backbone else "-",
                     f"{row.improvement} ({row.improvement_count})" if row.improvement else "-",
                     row.best_case or "-", _num(row.best_score)]
            for c, text in enumerate(cells):
                self._set(r, c, text, data=row.best_session_id)
        self.fit_columns()


class RunsView(_Table):
    """The runs of one Table 2 cell; each row carries its design session id."""

    HEADERS = ["Run", "Status", "Score", "Exec (s)", "Errors while debugging", "Backbone", "Improvement", "Ran on",
               "Session"]
    OPTIONAL = frozenset({"Errors while debugging", "Backbone", "Improvement"})

    def set_rows(self, rows: list[dict]) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            errors = ", ".join(row["error_types"]) or "-"
            backbone = row["backbone"] or "-"
            improvement = row["improvement"] or "-"
            cells = [str(row["run_index"] + 1), row["status"], _num(row["score"]), _num(row["exec_s"], 3), errors,
                     backbone, improvement, f"{row['executor'] or '-'} @ {row['host'] or '-'}",
                     str(row["session_id"] or "-")]
            tips = {5: f"found by: {row['backbone_source'] or '-'}", 6: f"found by: {row['improvement_source'] or '-'}",
                    4: errors}
            for c, text in enumerate(cells):
                self._set(r, c, text, tip=tips.get(c, ""), data=row["session_id"])
        self.fit_columns()

    def selected_session(self) -> int | None:
        items = self.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None
