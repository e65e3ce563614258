"""A row of widgets that wraps onto more lines when the pane is narrow (Qt's FlowLayout example).

A QHBoxLayout of buttons makes its pane, and so the main window, at least as wide as all the buttons
together: on a 1280-px screen the window then runs off the screen. In a FlowLayout the pane only
needs the widest single item; the rest moves to the next line.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        # Expanding items (a line edit, a progress bar) take the rest of their line.
        self._stretch: set[int] = set()
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt naming
        self._items.append(item)

    def add(self, widget: QWidget, stretch: bool = False) -> QWidget:
        """Add ``widget``; ``stretch`` makes it fill the rest of the line it lands on."""
        self.addWidget(widget)
        if stretch:
            self._stretch.add(id(widget))
        return widget

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt naming
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt naming
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt naming
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt naming
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt naming
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt naming
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt naming
        # Everything on one line, when there is room for it.
        width = height = 0
        for item in self._visible():
            hint = item.sizeHint()
            width += hint.width() + (self._spacing if width else 0)
            height = max(height, hint.height())
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt naming
        # Only the widest single item: the others wrap.
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m: QMargins = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not (i.widget() is not None and i.widget().isHidden())]

    def _spacing_for(self, item: QLayoutItem) -> int:
        if self._spacing >= 0:
            return self._spacing
        widget = item.widget()
        style = widget.style() if widget is not None else None
        if style is None:
            return 6
        return style.layoutSpacing(QSizePolicy.ControlType.PushButton, QSizePolicy.ControlType.PushButton,
                                   Qt.Orientation.Horizontal)

    def _do_layout(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        lines: list[list[QLayoutItem]] = [[]]
        x = 0
        for item in self._visible():
            w = item.sizeHint().width()
            gap = self._spacing_for(item) if lines[-1] else 0
            if lines[-1] and x + gap + w > area.width():
                lines.append([])
                x, gap = 0, 0
            lines[-1].append(item)
            x += gap + w
        y = area.y()
        for line in lines:
            if not line:
                continue
            line_height = max(i.sizeHint().height() for i in line)
            used = sum(i.sizeHint().width() for i in line) + sum(self._spacing_for(i) for i in line[1:])
            spare = max(area.width() - used, 0)
            stretchers = [i for i in line if i.widget() is not None and id(i.widget()) in self._stretch]
            extra = spare // len(stretchers) if stretchers else 0
            x = area.x()
            for n, item in enumerate(line):
                if n:
                    x += self._spacing_for(item)
                w = item.sizeHint().width() + (extra if item in stretchers else 0)
                w = min(w, area.width())   # a single item wider than the pane gets the pane
                if apply:
                    h = item.sizeHint().height()
                    item.setGeometry(QRect(QPoint(x, y + (line_height - h) // 2), QSize(w, h)))
                x += w
            y += line_height + self._spacing_for(line[0])
        return max(y - self._spacing_for(self._items[0]) - rect.y() + m.bottom(), 0) if self._items else 0

