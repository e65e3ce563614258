"""LaTeX -> clean text: floats, citations and other noise dropped, maths kept exactly as written.

``pylatexenc`` (``LatexNodes2Text``) does the conversion; the maths is set aside before it runs and
put back after, so it reaches the text verbatim (``$\\alpha$``, ``\\begin{equation}...``) and the
parser has far less to read.
"""

from __future__ import annotations

import re
import threading

_DROPPED_ENVS = (
    "figure",
    "figure*",
    "table",
    "table*",
    "wrapfigure",
    "wraptable",
    "SCfigure",
    "subfigure",
    "thebibliography",
    "tikzpicture",
    "algorithm",
    "algorithm*",
    "comment",
    "filecontents",
    "filecontents*",
)
_CITE = re.compile(r"[~ ]?\\(?:[cC]ite[a-z]*|[a-z]*cite[a-z]*|nocite)\*?\s*(?:\[[^\]]*\]\s*){0,2}\{[^{}]*\}")
_REF = re.compile(r"[~ ]?\\(?:ref|eqref|autoref|cref|Cref|pageref|vref|nameref)\*?\s*\{[^{}]*\}")
# A label on a line of its own goes with its line: inside an equation it would split the display.
_LABEL = re.compile(r"\\label\s*\{[^{}]*\}[ \t]*\n?")
_NOISE_WITH_ARG = re.compile(
    r"\\(?:bibliography|bibliographystyle|vspace|hspace|includegraphics"
    r"|addbibresource|thispagestyle|pagestyle|setlength|setcounter|addtolength"
    r"|input|include|newcounter|usepackage|hypersetup)\*?\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\}"
)
_NOISE = re.compile(
    r"\\(?:maketitle|tableofcontents|newpage|clearpage|cleardoublepage|printbibliography"
    r"|noindent|centering|smallskip|medskip|bigskip|linebreak|pagebreak|onecolumn|twocolumn"
    r"|normalsize|small|footnotesize|scriptsize|tiny|large|Large|LARGE|huge|Huge)(?![A-Za-z])"
)


def drop_environments(text: str, names: tuple[str, ...] = _DROPPED_ENVS) -> str:
    """Remove the listed environments with everything inside (nesting of the same name counted)."""
    alt = "|".join(re.escape(n) for n in names)
    opener = re.compile(r"\\begin\s*\{(" + alt + r")\}")
    out, pos = [], 0
    while True:
        m = opener.search(text, pos)
        if not m:
            break
        name = m.group(1)
        tag = re.compile(r"\\(begin|end)\s*\{" + re.escape(name) + r"\}")
        depth, end = 0, len(text)
        for t in tag.finditer(text, m.start()):
            depth += 1 if t.group(1) == "begin" else -1
            if depth == 0:
                end = t.end()
                break
        out.append(text[pos : m.start()])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def clean_body(text: str) -> str:
    text = drop_environments(text)
    text = _CITE.sub("", text)
    text = _REF.sub("", text)
    text = _LABEL.sub("", text)
    text = _NOISE_WITH_ARG.sub("", text)
    return _NOISE.sub("", text)


_local = threading.local()


def _converter():
    """This thread's pylatexenc LatexNodes2Text and walker context (built once per thread: the
    pipeline reads papers from worker threads, and pylatexenc promises nothing about sharing).

    The walker asks its context for "specials" (``~``, ``--``, ``''``...) at every character; the
    context answers at once for characters no special starts with, which more than halves the
    parse time of a paper without changing the result.
    """
    if getattr(_local, "pair", None) is not None:
        return _local.pair
    import pylatexenc.latexwalker as latexwalker
    from pylatexenc.latex2text import LatexNodes2Text

    db = latexwalker.get_default_latex_context_db()
    first_chars = {spec.specials_chars[0] for spec in db.iter_specials_specs()}
    full_test = db.test_for_specials

    def test_for_specials(s, pos, parsing_state=None):
        if pos >= len(s) or s[pos] not in first_chars:
            return None
        return full_test(s, pos, parsing_state=parsing_state)

    db.test_for_specials = test_for_specials
    # verbatim: maths stays as its LaTeX source, delimiters and environments included.
    _local.pair = (LatexNodes2Text(math_mode="verbatim", keep_comments=False), db)
    return _local.pair


_MATH_OPEN = re.compile(
    r"\\begin\{((?:equation|align|alignat|gather|multline|eqnarray|flalign|displaymath|math)\*?)\}"
    r"|\$\$|\$|\\\(|\\\[|\\.",
    re.S,
)
_MATH_CLOSE = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


def protect_math(latex: str) -> tuple[str, list[str]]:
    """(text with each maths span replaced by a placeholder, the spans in order).

    Maths is kept verbatim anyway, so it need not go through the LaTeX-to-text parser at all: it
    comes back exactly as written, and the parser has far less to read.
    """
    spans: list[str] = []
    out: list[str] = []
    pos = 0
    i = 0
    while True:
        m = _MATH_OPEN.search(latex, i)
        if not m:
            break
        token = m.group(0)
        if m.group(1):
            close = "\\end{" + m.group(1) + "}"
        elif token in _MATH_CLOSE:
            close = _MATH_CLOSE[token]
        else:  # an escaped character (\$, \\): not maths
            i = m.end()
            continue
        j = m.end()
        while True:  # the closing delimiter, not an escaped one
            k = latex.find(close, j)
            if k < 0 or latex[k - 1] != "\\" or close.startswith("\\"):
                break
            j = k + 1
        if k < 0:
            break
        end = k + len(close)
        out.append(latex[pos : m.start()])
        out.append(f"MATHPLACEHOLDER{len(spans)}X")
        spans.append(latex[m.start() : end])
        pos = i = end
    out.append(latex[pos:])
    return "".join(out), spans


_PLACEHOLDER = re.compile(r"MATHPLACEHOLDER(\d+)X")


_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")
_MATH_ENVS = r"(?:equation|align|alignat|gather|multline|eqnarray|flalign|displaymath)\*?"
_DISPLAY_OPEN = re.compile(r"\s*(?:\\begin\{" + _MATH_ENVS + r"\}|\\\[|\$\$(?=[^$]+\$\$))")
_DISPLAY_CLOSE = re.compile(r"(?:\\end\{" + _MATH_ENVS + r"\}|\\\])\s*")
# "(\\ref{eq})" and "[\\cite{x}]" leave empty brackets behind once the reference is dropped.
_EMPTY_PARENS = re.compile(r"(?<=\s)\(\s*\)|\[\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w) +(?=[.,;:](?:\s|$))")


# Runs of characters that mean nothing to LaTeX (no backslash, braces, specials, brackets or line
# break). pylatexenc reads text one character at a time; a run it would copy unchanged is set
# aside like the maths, which makes a prose-heavy paper several times faster to read.
_PLAIN_RUN = re.compile(r"[A-Za-z0-9 ,.;:()/=+*<>|\"]{24,}")
_CONTROL_WORD_BEFORE = re.compile(r"\\(?:[A-Za-z@]+|.)\s*$")
_PLAIN_PLACEHOLDER = re.compile(r"PLAINPLACEHOLDER(\d+)X")


def protect_plain_runs(latex: str) -> tuple[str, list[str]]:
    """(text with long plain runs replaced by placeholders, the runs in order).

    A run right after a control word is left in place: ``\\textbf x...`` takes its first
    character as the argument, which a placeholder must not change."""
    runs: list[str] = []
    out: list[str] = []
    pos = 0
    for m in _PLAIN_RUN.finditer(latex):
        start = m.start()
        if start and (latex[start - 1].isalpha() or latex[start - 1] in "\\@"):
            # Inside a control word ("\\item Text..." matches from "item"): start after it.
            k = start
            while k < m.end() and (latex[k].isalpha() or latex[k] == "@"):
                k += 1
            start = k
            if m.end() - start < 24:
                continue
        if _CONTROL_WORD_BEFORE.search(latex, max(0, start - 40), start):
            # After a control word and spaces: "\\item Text" stays as is up to the first
            # non-space character, which may be the control word's argument.
            k = start
            while k < m.end() and latex[k] == " ":
                k += 1
            start = k + 1
            if m.end() - start < 24:
                continue
        out.append(latex[pos:start])
        out.append(f"PLAINPLACEHOLDER{len(runs)}X")
        runs.append(latex[start : m.end()])
        pos = m.end()
    out.append(latex[pos:])
    return "".join(out), runs


def _restore(pattern: re.Pattern, spans: list[str], text: str) -> str:
    return pattern.sub(lambda m: spans[int(m.group(1))] if int(m.group(1)) < len(spans) else "", text)


def to_text(latex: str) -> str:
    """Clean text of a LaTeX fragment; maths kept as LaTeX. Falls back to the raw text on failure."""
    protected, spans = protect_math(latex)
    protected, runs = protect_plain_runs(protected)
    converter, context = _converter()
    try:
        text = converter.latex_to_text(protected, latex_context=context)
    except Exception:  # noqa: BLE001 - a parser failure must cost only the markup, not the text
        text = re.sub(r"\\[A-Za-z]+\*?", "", protected).replace("{", "").replace("}", "")
    text = _restore(_PLACEHOLDER, spans, _restore(_PLAIN_PLACEHOLDER, runs, text))
    # Source line breaks are not the author's: paragraphs become one line each, and display maths
    # gets lines of its own so it stays readable as LaTeX.
    paragraphs = re.split(r"\n\s*\n", text)
    text = "\n\n".join(
        " ".join(line.strip() for line in para.splitlines() if line.strip()) for para in paragraphs
    )
    text = _DISPLAY_OPEN.sub(lambda m: "\n" + m.group(0), text)
    text = _DISPLAY_CLOSE.sub(lambda m: m.group(0) + "\n", text)
    text = _SPACES.sub(" ", _EMPTY_PARENS.sub("", text))
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", text).strip()
