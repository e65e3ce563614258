"""The stats chart, drawn with QPainter (no plotting library to import): samples per category as
bars whose length is the category's size and whose segments are its review status, in the
spirit of the paper's Figure 6, plus kind totals and overall progress in the title line."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

STATUS_ORDER = ("accepted", "needs-fix", "rejected", "generated", "unreviewed")
STATUS_COLOURS = {
    "accepted": QColor("#43a047"), "needs-fix": QColor("#fb8c00"),
    "rejected": QColor("#e53935"), "generated": QColor("#7e57c2"), "unreviewed": QColor("#b0bec5"),
}
WAITING = ("unreviewed", "generated")   # not reviewed yet: imported, or written by Generate
DLPD = {"requirement-based proposal", "property-based improvement", "hyperparameter prediction"}


class CategoryReviewChart(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(160)
        self.stats: dict | None = None

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(560, 260)

    def set_data(self, stats: dict) -> None:
        self.stats = stats
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        fm = QFontMetrics(self.font())
        text_colour = self.palette().text().color()
        st = self.stats
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(text_colour)
        p.drawText(QRectF(8, 4, self.width() - 16, 20), Qt.AlignmentFlag.AlignVCenter, "Samples per category · review progress")
        p.setFont(self.font())
        if not st or not st["total"]:
            p.drawText(QRectF(0, 24, self.width(), self.height() - 24), Qt.AlignmentFlag.AlignCenter, "No samples yet")
            return
        done = st["total"] - sum(st["by_status"].get(s, 0) for s in WAITING)
        kinds = " · ".join(f"{k} {n:,}" for k, n in st["by_kind"].items())
        summary = f"{st['total']:,} samples ({kinds}) · {100 * done / st['total']:.0f}% reviewed"
        p.setPen(self.palette().placeholderText().color())
        p.drawText(QRectF(8, 22, self.width() - 16, 18), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(summary, Qt.TextElideMode.ElideRight, self.width() - 16))
        # Legend, bottom line.
        legend_y = self.height() - 20
        x = 8.0
        for status in STATUS_ORDER:
            p.fillRect(QRectF(x, legend_y + 5, 10, 10), STATUS_COLOURS[status])
            p.setPen(text_colour)
            p.drawText(QRectF(x + 14, legend_y, 120, 20), Qt.AlignmentFlag.AlignVCenter, status)
            x += 30 + fm.horizontalAdvance(status)
        p.setPen(self.palette().placeholderText().color())
        room = self.width() - x - 18
        # The longest note that fits whole (a cut "DLPD categories in" reads as a bug).
        note = next((t for t in ("DLPD categories in italics", "DLPD in italics") if fm.horizontalAdvance(t) <= room), "")
        p.drawText(QRectF(x + 10, legend_y, room, 20), Qt.AlignmentFlag.AlignVCenter, note)
        rows = list(st["by_category"].items())
        top, bottom = 44.0, legend_y - 4
        line = min(22.0, (bottom - top) / len(rows))
        label_w = min(self.width() * 0.38, max(fm.horizontalAdvance(n) for n, _ in rows) + 12)
        count_w = fm.horizontalAdvance("000,000 (00%)  100% done") + 8
        bar_x = 8 + label_w
        bar_max = max(20.0, self.width() - 16 - label_w - count_w)
        biggest = max(n for _, n in rows) or 1
        italic = QFont(self.font())
        italic.setItalic(True)
        for i, (name, n) in enumerate(rows):
            y = top + i * line
            p.setFont(italic if name in DLPD else self.font())
            p.setPen(text_colour)
            label = fm.elidedText(name, Qt.TextElideMode.ElideRight, int(label_w) - 8)
            p.drawText(QRectF(8, y, label_w - 8, line), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            p.setFont(self.font())
            counts = st["review"].get(name, {})
            full = bar_max * n / biggest
            x = bar_x
            for status in STATUS_ORDER:
                w = full * counts.get(status, 0) / max(1, n)
                if w > 0:
                    p.fillRect(QRectF(x, y + line * 0.16, w, line * 0.68), STATUS_COLOURS[status])
                x += w
            reviewed = 100 * (n - sum(counts.get(s, 0) for s in WAITING)) / max(1, n)
            p.drawText(QRectF(bar_x + full + 6, y, count_w, line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       f"{n:,} ({100 * n / st['total']:.0f}%)  {reviewed:.0f}% done")
