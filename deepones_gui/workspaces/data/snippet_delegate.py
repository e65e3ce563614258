"""Paints FTS5 snippets in the table with the matched words highlighted."""

from __future__ import annotations

import html

from PySide6.QtCore import QRectF
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from backend.datasets.query import HIGHLIGHT_END, HIGHLIGHT_START
from deepones_gui.workspaces.data.table_model import DISPLAY_CHARS, SnippetRole

LEAD_CHARS = 24  # context kept before the first match, so the match is visible in a narrow column


def snippet_html(snippet: str) -> str:
    text = " ".join(snippet.split())
    first = text.find(HIGHLIGHT_START)
    if first > LEAD_CHARS:
        cut = text.rfind(" ", 0, first - LEAD_CHARS // 2)
        text = "…" + text[(cut if cut > 0 else first - LEAD_CHARS):].lstrip()
    text = text[: DISPLAY_CHARS + 20]
    text = html.escape(text)
    return (text.replace(HIGHLIGHT_START, "<span style='background:#fff176; color:#000; font-weight:bold'>")
            .replace(HIGHLIGHT_END, "</span>"))


class SnippetDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:
        snippet = index.data(SnippetRole)
        if not snippet or HIGHLIGHT_START not in snippet:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = QTextDocument()
        doc.setDefaultFont(opt.font)
        doc.setDocumentMargin(0)
        doc.setHtml(snippet_html(snippet))
        doc.setTextWidth(-1)
        rect = opt.rect.adjusted(4, 0, -4, 0)
        painter.save()
        painter.translate(rect.left(), rect.top() + (rect.height() - doc.size().height()) / 2)
        painter.setClipRect(QRectF(0, 0, rect.width(), rect.height()))
        ctx = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()
