"""The model diagram in the app: the SVG from :mod:`backend.ideation.svg` in a QSvgWidget, a depth
control to collapse or expand it, and SVG/PNG export (PNG drawn by QSvgRenderer). ``DiagramPair`` shows
two designs side by side with their differences marked (the proposal board uses it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.ideation.diagram import View, collapse, diff, max_depth
from backend.ideation.svg import view_to_svg


def svg_to_png(svg: str, path: Path | str, scale: float = 1.5) -> bool:
    """Draw ``svg`` into a PNG file (white background); False when Qt cannot write it."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize() * scale
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image.save(str(path), "PNG")


class SvgCanvas(QScrollArea):
    """An SVG at its own size, scrollable (the diagram of a deep model is tall)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.svg_widget = QSvgWidget()
        self.setWidget(self.svg_widget)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.setWidgetResizable(False)
        self.svg = ""

    def show_svg(self, svg: str) -> None:
        self.svg = svg
        self.svg_widget.load(QByteArray(svg.encode("utf-8")))
        size = self.svg_widget.renderer().defaultSize()
        self.svg_widget.setFixedSize(size if size.isValid() else QSize(10, 10))


class DiagramView(QWidget):
    """One diagram with a depth spin box and Export."""

    depth_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, title: str = "") -> None:
        super().__init__(parent)
        self.diagram: dict | None = None
        self.marks: dict[str, str] = {}
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600;")
        self.depth = QSpinBox()
        self.depth.setRange(1, 1)
        self.depth.setPrefix("depth ")
        self.depth.setToolTip("How deep into the module tree to draw: 1 = the model's top-level parts")
        self.depth.valueChanged.connect(self._redraw)
        self.depth.valueChanged.connect(self.depth_changed)
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Save the diagram as it is drawn, as SVG or PNG")
        self.export_btn.clicked.connect(self.export_dialog)
        self.info = QLabel()
        self.info.setStyleSheet("color: palette(placeholder-text);")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.info, 1)
        head.addWidget(self.depth)
        head.addWidget(self.export_btn)
        self.canvas = SvgCanvas()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)
        self.set_diagram(None)

    def set_diagram(self, diagram: dict | None, depth: int | None = None) -> None:
        self.diagram = diagram
        has = bool(diagram and diagram.get("nodes"))
        self.depth.setEnabled(has)
        self.export_btn.setEnabled(has)
        if not has:
            self.info.setText("The diagram appears here after a check.")
            self.canvas.show_svg('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
            return
        self.depth.blockSignals(True)
        self.depth.setRange(1, max_depth(diagram))
        if depth is not None:
            self.depth.setValue(depth)
        self.depth.blockSignals(False)
        traced = {"fx": "traced with torch.fx", "hooks": "module order (did not trace)",
                  "deepdata": "DeepData view"}.get(diagram.get("traced_with", ""), "")
        self.info.setText(f"{diagram.get('model', '')} · {traced}")
        self._redraw()

    def current_view(self) -> View | None:
        if not self.diagram:
            return None
        view = collapse(self.diagram, self.depth.value())
        view.marks = dict(self.marks)
        return view

    def show_view(self, view: View) -> None:
        self.canvas.show_svg(view_to_svg(view))

    def _redraw(self) -> None:
        view = self.current_view()
        if view is not None:
            self.show_view(view)

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", "model.svg", "SVG (*.svg);;PNG (*.png)")
        if path:
            problem = self.export(path)
            if problem:
                QMessageBox.warning(self, "Export diagram", problem)

    def export(self, path: str | Path) -> str:
        """Write the diagram as drawn; returns "" or what went wrong (one line)."""
        path = Path(path)
        svg = self.canvas.svg
        try:
            if path.suffix.lower() == ".png":
                if not svg_to_png(svg, path):
                    return f"Cannot write {path}."
            else:
                path.write_text(svg, "utf-8")
        except OSError as exc:
            return f"Cannot write {path}: {exc.strerror or exc}."
        return ""


class DiagramPair(QWidget):
    """Two designs side by side at one depth, differences marked (added green, removed red, changed amber)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left, self.right = DiagramView(title="A"), DiagramView(title="B")
        self.left.depth_changed.connect(lambda d: self._sync(d))
        self.right.depth_changed.connect(lambda d: self._sync(d))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.left, 1)
        layout.addWidget(self.right, 1)
        self.a: dict | None = None
        self.b: dict | None = None

    def set_pair(self, a: dict, b: dict, titles: tuple[str, str] = ("A", "B"), depth: int = 1) -> None:
        self.a, self.b = a, b
        self.left.title.setText(titles[0])
        self.right.title.setText(titles[1])
        self.left.set_diagram(a, depth)
        self.right.set_diagram(b, depth)
        self._sync(depth)

    def _sync(self, depth: int) -> None:
        if not (self.a and self.b):
            return
        for view in (self.left, self.right):
            view.depth.blockSignals(True)
            view.depth.setValue(depth)
            view.depth.blockSignals(False)
        va, vb = diff(self.a, self.b, depth)
        self.left.marks, self.right.marks = va.marks, vb.marks
        self.left.show_view(va)
        self.right.show_view(vb)
