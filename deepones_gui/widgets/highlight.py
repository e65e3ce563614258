"""Syntax highlighting: Python through Pygments, tracebacks, and unified diffs."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat

_STYLE = {  # Pygments token type prefix -> (colour, bold, italic); readable on light and dark themes
    "Token.Keyword": ("#7c3aed", True, False),
    "Token.Name.Builtin": ("#0369a1", False, False),
    "Token.Name.Function": ("#1d4ed8", False, False),
    "Token.Name.Class": ("#1d4ed8", True, False),
    "Token.Name.Decorator": ("#b45309", False, False),
    "Token.Name.Namespace": ("#0f766e", False, False),
    "Token.Literal.String": ("#15803d", False, False),
    "Token.Literal.Number": ("#c2410c", False, False),
    "Token.Comment": ("#6b7280", False, True),
    "Token.Operator.Word": ("#7c3aed", True, False),
}


def _format(colour: str, bold: bool = False, italic: bool = False, background: str | None = None) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    if background:
        fmt.setBackground(QColor(background))
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Lexes the whole document with Pygments once per change (multi-line strings stay right)."""

    def __init__(self, document) -> None:
        super().__init__(document)
        from pygments.lexers import PythonLexer

        self._lexer = PythonLexer(stripnl=False, ensurenl=False)
        self._formats = {key: _format(*value) for key, value in _STYLE.items()}
        self._revision = -1
        self._text: str | None = None
        self._lines: dict[int, list[tuple[int, int, QTextCharFormat]]] = {}

    def _format_for(self, token_type) -> QTextCharFormat | None:
        name = str(token_type)
        while name:
            if name in self._formats:
                return self._formats[name]
            name = name.rpartition(".")[0]
        return None

    def _relex(self) -> None:
        doc = self.document()
        self._revision = doc.revision()
        text = doc.toPlainText()
        if text == self._text:  # Qt often highlights block 0 twice for one change
            return
        self._text = text
        self._lines = {}
        line, col = 0, 0
        for token_type, value in self._lexer.get_tokens(text):
            fmt = self._format_for(token_type)
            parts = value.split("\n")
            for i, part in enumerate(parts):
                if i:
                    line, col = line + 1, 0
                if part and fmt is not None:
                    self._lines.setdefault(line, []).append((col, len(part), fmt))
                col += len(part)

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt naming
        # setPlainText keeps the revision, but always restarts at block 0: relex then too.
        if self.document().revision() != self._revision or self.currentBlock().blockNumber() == 0:
            self._relex()
        for start, length, fmt in self._lines.get(self.currentBlock().blockNumber(), ()):
            self.setFormat(start, length, fmt)


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)')
_EXC = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b.*$")


class TracebackHighlighter(QSyntaxHighlighter):
    """Tracebacks stand out: the header, frames of the program (underlined: click to jump), the error."""

    def __init__(self, document, program: str = "program.py") -> None:
        super().__init__(document)
        self.program = program
        self.header = _format("#b91c1c", bold=True)
        self.frame = _format("#1d4ed8")
        self.frame.setFontUnderline(True)
        self.other_frame = _format("#6b7280")
        self.error = _format("#b91c1c", bold=True, background="#fee2e2")

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        if text.startswith("Traceback (most recent call last)"):
            self.setFormat(0, len(text), self.header)
        elif match := _FRAME.match(text):
            own = match.group(1).endswith(self.program)
            self.setFormat(0, len(text), self.frame if own else self.other_frame)
        elif _EXC.match(text):
            self.setFormat(0, len(text), self.error)


class DiffHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        super().__init__(document)
        self.added = _format("#166534", background="#dcfce7")
        self.removed = _format("#991b1b", background="#fee2e2")
        self.hunk = _format("#6d28d9", bold=True)

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        if text.startswith(("+++", "---")):
            self.setFormat(0, len(text), self.hunk)
        elif text.startswith("+"):
            self.setFormat(0, len(text), self.added)
        elif text.startswith("-"):
            self.setFormat(0, len(text), self.removed)
        elif text.startswith("@@"):
            self.setFormat(0, len(text), self.hunk)


def frame_line(text: str, program: str = "program.py") -> int | None:
    """The program's line number named by a traceback line, if it is one of the program's frames."""
    match = _FRAME.match(text)
    if match and match.group(1).endswith(program):
        return int(match.group(2))
    return None
