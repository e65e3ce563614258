"""A small horizontal bar chart: traces per error type and per label for the current filter.

Clicking a bar asks for that error type or label as a filter.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

_ROW_H, _MAX_ROWS = 16, 6


class CountsChart(QWidget):
    picked = Signal(str, str)   # ("error_type" | "label", value)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: list[tuple[str, str, list[tuple[str, int]]]] = []
        self.colours: dict[str, str] = {}
        self._hits: list[tuple[QRectF, str, str]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Traces per error type and label in the current filter; click a bar to filter by it")

    def set_counts(self, errors: dict[str, int], labels: dict[str, int], colours: dict[str, str]) -> None:
        self.groups = [("error_type", "Error types", list(errors.items())[:_MAX_ROWS]),
                       ("label", "Labels", list(labels.items())[:_MAX_ROWS])]
        self.colours = colours
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max([len(g[2]) for g in self.groups] + [1])
        return QSize(320, 22 + rows * _ROW_H + 6)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._hits = []
        col_w = self.width() / max(1, len(self.groups))
        fm = self.fontMetrics()
        muted = self.palette().placeholderText().color()
        for gi, (kind, title, items) in enumerate(self.groups):
            x0 = gi * col_w + 4
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(x0, 2, col_w - 8, 18), Qt.AlignmentFlag.AlignLeft, title)
            if not items:
                p.setPen(muted)
                p.drawText(QRectF(x0, 22, col_w - 8, _ROW_H), Qt.AlignmentFlag.AlignLeft, "none")
                continue
            top = max(n for _, n in items)
            name_w = min(col_w * 0.45, max(fm.horizontalAdvance(name) for name, _ in items) + 8)
            bar_space = col_w - name_w - 16 - fm.horizontalAdvance("00000")
            for i, (name, n) in enumerate(items):
                y = 22 + i * _ROW_H
                p.setPen(self.palette().text().color())
                label = fm.elidedText(name, Qt.TextElideMode.ElideRight, int(name_w - 4))
                p.drawText(QRectF(x0, y, name_w - 4, _ROW_H), Qt.AlignmentFlag.AlignVCenter, label)
                w = max(2.0, bar_space * n / top)
                bar = QRectF(x0 + name_w, y + 3, w, _ROW_H - 6)
                p.fillRect(bar, QColor(self.colours.get(name, "#ef4444" if kind == "error_type" else "#8b5cf6")))
                p.drawText(QRectF(bar.right() + 4, y, 60, _ROW_H), Qt.AlignmentFlag.AlignVCenter, f"{n:,}")
                self._hits.append((QRectF(x0, y, col_w - 8, _ROW_H), kind, name))
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        for rect, kind, name in self._hits:
            if rect.contains(event.position()):
                self.picked.emit(kind, name)
                return
        super().mousePressEvent(event)
