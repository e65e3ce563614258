"""Grouped bar charts (pyqtgraph): error shares per designer/variant (Figure 7), DeepQA per category (Figure 4)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


class GroupedBarChart(QWidget):
    """Categories along x, one coloured bar per series in each group, a legend, PNG/SVG export."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setTitle(title, color="#222")
        self.plot.setLabel("left", y_label)
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 220))
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").setHeight(46)   # room for two-line category names
        self.empty = QLabel("")
        self.empty.setStyleSheet("color: #666;")
        self.export_png = QPushButton("Export PNG…")
        self.export_svg = QPushButton("Export SVG…")
        self.export_png.clicked.connect(lambda: self._export("png"))
        self.export_svg.clicked.connect(lambda: self._export("svg"))
        bar = QHBoxLayout()
        bar.addWidget(self.empty, 1)
        bar.addWidget(self.export_png)
        bar.addWidget(self.export_svg)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addLayout(bar)
        self.categories: list[str] = []
        self.series: dict[str, list[float]] = {}
        self.set_data([], {}, empty_text="Nothing to chart yet.")

    def set_data(self, categories: list[str], series: dict[str, list[float]], *, empty_text: str = "",
                 labels: dict[str, list[str]] | None = None) -> None:
        """``series``: {name: one value per category}; ``labels``: {name: text over each bar}, e.g.
        "0.67 (2/3)", so a share is read with the count it comes from."""
        self.categories, self.series = list(categories), dict(series)
        self.bar_labels: list[str] = []
        self.plot.clear()
        self.legend.clear()
        has = bool(categories and series)
        self.empty.setText("" if has else empty_text)
        self.export_png.setEnabled(has)
        self.export_svg.setEnabled(has)
        if not has:
            return
        n = len(series)
        width = 0.8 / n
        for i, (name, values) in enumerate(series.items()):
            xs = [c - 0.4 + width * (i + 0.5) for c in range(len(categories))]
            item = pg.BarGraphItem(x=xs, height=values, width=width * 0.95, brush=PALETTE[i % len(PALETTE)],
                                   pen=pg.mkPen("#333", width=0.5), name=name)
            self.plot.addItem(item)   # named items join the legend by themselves
            for x, value, text in zip(xs, values, (labels or {}).get(name, []), strict=False):
                tag = pg.TextItem(text, color="#222", anchor=(0.5, 1.0))
                tag.setPos(x, value)
                self.plot.addItem(tag)
                self.bar_labels.append(text)
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, self._wrap(c)) for i, c in enumerate(categories)]])
        top = max((v for vals in series.values() for v in vals), default=1.0)
        # Head room above the bars for the legend (one line per series).
        self.plot.setYRange(0, max(top * (1.15 + 0.09 * n), 1e-9), padding=0)
        self.plot.setXRange(-0.6, len(categories) - 0.4, padding=0)

    @staticmethod
    def _wrap(text: str, width: int = 14) -> str:
        words, lines, line = text.split(), [], ""
        for w in words:
            if line and len(line) + len(w) + 1 > width:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
        return "\n".join(lines)

    def save(self, path: Path) -> None:
        import pyqtgraph.exporters as exporters

        path = Path(path)
        if path.suffix.lower() == ".svg":
            # pyqtgraph's SVGExporter fails on bar items; Qt's SVG generator renders the widget as drawn.
            from PySide6.QtCore import QRect, QSize
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            gen = QSvgGenerator()
            gen.setFileName(str(path))
            size = self.plot.size() if self.plot.width() > 50 else QSize(900, 500)
            gen.setSize(size)
            gen.setViewBox(QRect(0, 0, size.width(), size.height()))
            gen.setTitle("DeepOnes Studio chart")
            painter = QPainter(gen)
            try:
                self.plot.render(painter)
            finally:
                painter.end()
        else:
            exporter = exporters.ImageExporter(self.plot.plotItem)
            exporter.parameters()["width"] = max(800, int(self.plot.width()))
            exporter.export(str(path))

    def _export(self, fmt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", f"chart.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            self.save(Path(path))
