"""Markdown answers with highlighted code blocks, each with its own Copy button.

The text is split into prose and fenced code segments. Prose is rendered by Qt's own Markdown
support; code is highlighted with Pygments. While an answer streams only the last segment
changes, so only that widget is re-rendered.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

MIN_RENDER_INTERVAL_MS = 500
MAX_RENDER_INTERVAL_MS = 2000


@dataclass(frozen=True)
class Segment:
    kind: str        # "text" | "code"
    text: str
    language: str = ""


def split_markdown(text: str) -> list[Segment]:
    """Prose and fenced code blocks, in order; an unclosed final fence (still streaming) is code.

    The blocks are the pipeline's own (:func:`backend.pipeline.extract.fenced_blocks`), so a block
    sent "-> Design" is the code the pipeline would read from the same answer.
    """
    from backend.pipeline.extract import fenced_blocks

    out: list[Segment] = []
    pos = 0
    for block in fenced_blocks(text):
        if block.start > pos and text[pos:block.start].strip():
            out.append(Segment("text", text[pos:block.start]))
        out.append(Segment("code", block.text.rstrip("\n"), block.lang))
        pos = block.end
    if text[pos:].strip():
        out.append(Segment("text", text[pos:]))
    return out


def code_blocks(text: str, language: str | None = None) -> list[str]:
    return [s.text for s in split_markdown(text) if s.kind == "code" and (language is None or s.language == language)]


def highlight_html(code: str, language: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name, guess_lexer
        from pygments.util import ClassNotFound

        try:
            lexer = get_lexer_by_name(language or "python")
        except ClassNotFound:
            lexer = guess_lexer(code)
        body = highlight(code, lexer, HtmlFormatter(noclasses=True, nowrap=True, style="default"))
    except ImportError:  # pragma: no cover - pygments is a dependency
        body = html.escape(code)
    return f"<pre style='margin:0'>{body}</pre>"


class AutoHeightBrowser(QTextBrowser):
    """A read-only text view as tall as its content (the page scrolls, not each block)."""

    def __init__(self, wrap: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenExternalLinks(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if wrap
                                          else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if not wrap:
            self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
            self.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self._wrap = wrap
        self.document().documentLayout().documentSizeChanged.connect(lambda _s: self._fit())

    def wheelEvent(self, event) -> None:  # noqa: N802 - let the conversation scroll, not this block
        event.ignore()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        h = int(self.document().size().height()) + 2 * self.frameWidth() + 2
        bar = self.horizontalScrollBar()
        if not self._wrap and self.document().idealWidth() > self.viewport().width():
            h += bar.sizeHint().height()
        if h != self.height():
            self.setFixedHeight(h)


class CodeBlock(QFrame):
    send_code = Signal(str)
    check_code = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeBlock")
        self.setStyleSheet("QFrame#codeBlock { border: 1px solid palette(mid); border-radius: 6px;"
                           " background: #f6f8fa; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 6)
        lay.setSpacing(2)
        head = QHBoxLayout()
        self.lang = QLabel()
        self.lang.setStyleSheet("color: #57606a; font-size: 9pt;")
        head.addWidget(self.lang)
        head.addStretch(1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this code block to the clipboard")
        self.copy_button.setFlat(True)
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.clicked.connect(self.copy)
        self.design_button = QPushButton("→ Design")
        self.design_button.setToolTip("Send this code to the Design workspace")
        self.design_button.setFlat(True)
        self.design_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.design_button.clicked.connect(lambda: self.send_code.emit(self.code))
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Size this model against a task's requirements (params, FLOPs, memory, "
                                     "speed) and draw it, in a sandboxed job")
        self.check_button.setFlat(True)
        self.check_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.check_button.clicked.connect(lambda: self.check_code.emit(self.code))
        self.check_button.hide()
        head.addWidget(self.copy_button)
        head.addWidget(self.check_button)
        head.addWidget(self.design_button)
        lay.addLayout(head)
        self.view = AutoHeightBrowser(wrap=False)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lay.addWidget(self.view)
        self.code = ""
        self.language = ""

    def set_code(self, code: str, language: str) -> None:
        if code == self.code and language == self.language:
            return
        self.code, self.language = code, language
        self.lang.setText(language or "code")
        from deepones_gui.ideation.check_dialog import looks_like_a_model

        self.check_button.setVisible(looks_like_a_model(code, language))
        self.view.setHtml(highlight_html(code, language))

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy_button.setText("Copied")


class MarkdownView(QWidget):
    """Renders Markdown text as prose + code-block widgets; ``set_text`` updates only what changed."""

    send_code = Signal(str)
    check_code = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._widgets: list[tuple[Segment, QWidget]] = []
        self.text = ""
        self._render_interval_ms = MIN_RENDER_INTERVAL_MS
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self.flush)

    def set_text(self, text: str) -> None:
        self._render_timer.stop()
        self.text = text
        segments = split_markdown(text)
        for i, seg in enumerate(segments):
            if i < len(self._widgets):
                old, widget = self._widgets[i]
                if old == seg:
                    continue
                if old.kind != seg.kind:
                    self._drop_from(i)
                    widget = self._make(seg)
            else:
                widget = self._make(seg)
            self._render(widget, seg)
            if i < len(self._widgets):
                self._widgets[i] = (seg, widget)
            else:
                self._widgets.append((seg, widget))
        self._drop_from(len(segments))

    def append(self, more: str) -> None:
        """Streaming: new text is appended as plain text at once (cheap), and the Markdown is re-rendered
        only now and then.

        Each full render re-lays out the growing last segment while holding the GIL, which the
        generation thread also needs between tokens; so full renders are paced to cost at most ~5%
        of a core (interval = 20 x the last render's cost, at least 0.5 s). Fences (```) force a
        prompt re-render because they change the structure. :meth:`flush` renders now.
        """
        self.text += more
        last = self._widgets[-1][1] if self._widgets else None
        if last is None or "`" in more or "~" in more:
            interval = 0 if last is None else MIN_RENDER_INTERVAL_MS // 5
        else:
            view = last.view if isinstance(last, CodeBlock) else last
            cursor = QTextCursor(view.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(more)
            interval = self._render_interval_ms
        if not self._render_timer.isActive():
            self._render_timer.start(interval)

    def flush(self) -> None:
        self._render_timer.stop()
        started = time.perf_counter()
        self.set_text(self.text)
        cost_ms = (time.perf_counter() - started) * 1000
        self._render_interval_ms = int(min(MAX_RENDER_INTERVAL_MS, max(MIN_RENDER_INTERVAL_MS, 20 * cost_ms)))

    def code_widgets(self) -> list[CodeBlock]:
        return [w for _s, w in self._widgets if isinstance(w, CodeBlock)]

    def _make(self, seg: Segment) -> QWidget:
        if seg.kind == "code":
            widget: QWidget = CodeBlock()
            widget.send_code.connect(self.send_code)
            widget.check_code.connect(self.check_code)
        else:
            widget = AutoHeightBrowser()
        self._layout.addWidget(widget)
        return widget

    def _render(self, widget: QWidget, seg: Segment) -> None:
        if isinstance(widget, CodeBlock):
            widget.set_code(seg.text, seg.language)
        else:
            widget.setMarkdown(seg.text)

    def _drop_from(self, index: int) -> None:
        for _seg, widget in self._widgets[index:]:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        del self._widgets[index:]
