"""LaTeX syntax the reader needs by hand: comments, brace groups, and simple macro expansion.

pylatexenc turns LaTeX into text but does not expand user macros; ``\\newcommand`` /
``\\renewcommand`` / ``\\def`` with numbered arguments are expanded here before it runs, so
``\\R^n`` in a paper reaches the text as ``\\mathbb{R}^n``. Anything not simple (delimited
parameters, ``@`` internals, definitions that define) is dropped and left unexpanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_EXPANSION_PASSES = 8

# ---------------------------------------------------------------------------------------------
# Low-level LaTeX text helpers (brace groups, comments)

_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*")
_COMMENT_ENV = re.compile(r"\\begin\{comment\}.*?\\end\{comment\}", re.S)
_IFFALSE = re.compile(r"\\iffalse\b.*?\\fi\b", re.S)


def strip_comments(text: str) -> str:
    """Drop ``%`` comments (not ``\\%``), ``comment`` environments and ``\\iffalse`` blocks."""
    text = _COMMENT.sub(r"\1", text)
    text = _COMMENT_ENV.sub("", text)
    return _IFFALSE.sub("", text)


def brace_group(text: str, i: int) -> tuple[str, int] | None:
    """(content, index after the closing brace) of the ``{...}`` group that opens at ``text[i]``."""
    if i >= len(text) or text[i] != "{":
        return None
    depth, j, n = 0, i, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    return None


def bracket_group(text: str, i: int) -> tuple[str, int] | None:
    """(content, index after) of a ``[...]`` optional argument at ``text[i]`` (braces respected)."""
    if i >= len(text) or text[i] != "[":
        return None
    depth, j, n = 0, i + 1, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "]" and depth == 0:
            return text[i + 1 : j], j + 1
        j += 1
    return None


def skip_spaces(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n" and not text.startswith("\n\n", i):
        i += 1
    return i


def macro_argument(text: str, i: int) -> tuple[str, int] | None:
    """One mandatory argument at ``i``: a brace group, a control sequence, or one character."""
    i = skip_spaces(text, i)
    if i >= len(text):
        return None
    if text[i] == "{":
        return brace_group(text, i)
    if text[i] == "\\":
        m = re.match(r"\\(?:[A-Za-z@]+|.)", text[i:])
        return (m.group(0), i + m.end()) if m else None
    if text[i] in "}":
        return None
    return text[i], i + 1


# ---------------------------------------------------------------------------------------------
# Macros


@dataclass(frozen=True)
class Macro:
    nargs: int
    body: str
    default: str | None = None  # the first argument's default, when it is optional


_DEFINITION = re.compile(
    r"\\(newcommand|renewcommand|providecommand|DeclareRobustCommand|def|gdef"
    r"|DeclareMathOperator|newenvironment|renewenvironment)(\*?)"
)
_MAX_BODY = 2000


def _parse_definition(text: str, m: re.Match) -> tuple[int, str | None, Macro | None]:
    """(end index, macro name, macro) of the definition starting at ``m``; name None if unparsed."""
    kind, i = m.group(1), m.end()
    i = skip_spaces(text, i)
    if kind in ("newenvironment", "renewenvironment"):
        got = brace_group(text, i)
        if not got:
            return m.end(), None, None
        i = got[1]
        for _ in range(2):  # [nargs][default]
            i = skip_spaces(text, i)
            opt = bracket_group(text, i)
            if opt:
                i = opt[1]
        for _ in range(2):  # {begin}{end}
            got = brace_group(text, skip_spaces(text, i))
            if not got:
                return m.end(), None, None
            i = got[1]
        return i, None, None
    # The macro's name: {\name} or \name
    if text.startswith("{", i):
        got = brace_group(text, i)
        if not got:
            return m.end(), None, None
        name, i = got[0].strip(), got[1]
    else:
        nm = re.match(r"\\(?:[A-Za-z@]+|.)", text[i:])
        if not nm:
            return m.end(), None, None
        name, i = nm.group(0), i + nm.end()
    nargs, default = 0, None
    if kind in ("def", "gdef"):
        params = re.match(r"((?:#\d)*)\s*\{", text[i:])
        if not params:  # delimited parameters (\def\a#1.{...}): not simple, leave it alone
            return m.end(), None, None
        nargs = len(params.group(1)) // 2
        i += params.end() - 1
    elif kind != "DeclareMathOperator":
        i = skip_spaces(text, i)
        opt = bracket_group(text, i)
        if opt:
            nargs = int(opt[0]) if opt[0].strip().isdigit() else 0
            i = skip_spaces(text, opt[1])
            opt2 = bracket_group(text, i)
            if opt2:
                default, i = opt2[0], opt2[1]
    i = skip_spaces(text, i)
    got = brace_group(text, i)
    if not got:
        return m.end(), None, None
    body, end = got
    if kind == "DeclareMathOperator":
        body = "\\operatorname{" + body + "}"
    if (
        not re.fullmatch(r"\\[A-Za-z]+", name)
        or len(body) > _MAX_BODY
        or "@" in body
        or re.search(r"\\(?:def|newcommand|renewcommand|makeatletter|csname)\b", body)
    ):
        return end, None, None  # drop the definition, expand nothing
    return end, name[1:], Macro(nargs, body, default)


def collect_macros(text: str) -> tuple[str, dict[str, Macro]]:
    """(text without its macro definitions, the simple macros they define)."""
    macros: dict[str, Macro] = {}
    out: list[str] = []
    pos = 0
    for m in _DEFINITION.finditer(text):
        if m.start() < pos:
            continue
        end, name, macro = _parse_definition(text, m)
        if end == m.end() and name is None:
            continue  # not parsed: leave the text as it is
        out.append(text[pos : m.start()])
        pos = end
        if name and macro and (m.group(1) != "providecommand" or name not in macros):
            macros[name] = macro
    out.append(text[pos:])
    return "".join(out), macros


def _substitute(body: str, args: list[str]) -> str:
    return re.sub(
        r"#(\d)", lambda g: args[int(g.group(1)) - 1] if 0 < int(g.group(1)) <= len(args) else "", body
    )


def expand_macros(text: str, macros: dict[str, Macro]) -> str:
    """Expand the user macros in ``text`` (arguments substituted), a few passes for nesting."""
    if not macros:
        return text
    pattern = re.compile(
        r"\\(" + "|".join(sorted(map(re.escape, macros), key=len, reverse=True)) + r")(?![A-Za-z@])"
    )
    limit = max(4 * len(text), 1 << 20)  # a self-referencing macro must not grow without end
    for _ in range(MAX_EXPANSION_PASSES):
        out: list[str] = []
        pos, changed = 0, False
        for m in pattern.finditer(text):
            if m.start() < pos:
                continue
            macro = macros[m.group(1)]
            i, args = m.end(), []
            if macro.default is not None:
                j = skip_spaces(text, i)
                opt = bracket_group(text, j)
                args.append(opt[0] if opt else macro.default)
                i = opt[1] if opt else i
            ok = True
            while len(args) < macro.nargs:
                got = macro_argument(text, i)
                if got is None:
                    ok = False
                    break
                args.append(got[0])
                i = got[1]
            if not ok:
                continue
            out.append(text[pos : m.start()])
            out.append(_substitute(macro.body, args))
            pos, changed = i, True
        out.append(text[pos:])
        text = "".join(out)
        if not changed or len(text) > limit:
            break
    return text
