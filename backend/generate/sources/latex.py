"""arXiv LaTeX sources -> :class:`Paper`: a ``.tex`` file, a folder, or the e-print as arXiv serves it.

arXiv's e-print is a ``.tar.gz`` of several files, or one gzipped ``.tex``. The reader finds the
main file (the one with ``\\documentclass``), inlines ``\\input``/``\\include`` (relative paths, the
``.tex`` suffix optional), expands the preamble's simple macros (``\\newcommand``, ``\\def`` with
numbered arguments), drops comments, floats, the bibliography and citation noise, and turns each
section into clean text through ``pylatexenc`` with the maths kept as LaTeX source (``$\\alpha$``,
``\\begin{equation}...``): the instruction categories include mathematical expressions.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from backend.generate.model import Paper, Section
from backend.generate.sources.archive import gunzip_capped, iter_tar_files
from backend.generate.sources.errors import SourceError
from backend.generate.sources.latex_syntax import (
    brace_group,
    bracket_group,
    collect_macros,
    expand_macros,
    skip_spaces,
    strip_comments,
)
from backend.generate.sources.latex_text import clean_body, to_text

TEX_SUFFIXES = (".tex", ".ltx")
MAX_TEX_BYTES = 32 * 1024 * 1024  # all .tex of one paper together
MAX_INLINED_CHARS = 8 * 1024 * 1024  # the main file with its inputs inlined (a real paper: < 1 MiB)
MAX_INPUT_DEPTH = 16

# ---------------------------------------------------------------------------------------------
# Reading the files of a source


@dataclass
class TexTree:
    """The .tex files of one paper (relative posix path -> text) and which one is the main file."""

    files: dict[str, str]
    main: str | None = None
    label: str = ""
    missing_inputs: list[str] = field(default_factory=list)
    inlined_chars: int = 0


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def _is_tex_name(name: str) -> bool:
    return name.lower().endswith(TEX_SUFFIXES)


def tree_from_bytes(data: bytes, label: str) -> TexTree:
    """The files of an e-print given as bytes: tar.gz, tar, gzipped single .tex, or plain .tex."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip_capped(data, label)
    if data[:5] == b"%PDF-":
        raise SourceError(f"{label}: this is a PDF, not a LaTeX source")
    if _is_tar(data):
        files = {name: _decode(raw) for name, raw in iter_tar_files(data, label, _is_tex_name)}
        if not files:
            raise SourceError(f"{label}: the archive holds no .tex file")
        return TexTree(files, None, label)
    if b"\x00" in data[:4096]:
        raise SourceError(f"{label}: neither a LaTeX file nor a tar/gzip archive")
    return TexTree({"main.tex": _decode(data)}, "main.tex", label)


def tree_from_folder(folder: Path) -> TexTree:
    files: dict[str, str] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if not _is_tex_name(fname):
                continue
            path = Path(dirpath) / fname
            if path.is_symlink():
                continue
            total += path.stat().st_size
            if total > MAX_TEX_BYTES:
                raise SourceError(
                    f"{folder}: refused, its .tex files hold more than {MAX_TEX_BYTES // (1024 * 1024)} MiB"
                )
            files[path.relative_to(folder).as_posix()] = _decode(path.read_bytes())
    if not files:
        raise SourceError(f"{folder}: the folder holds no .tex file")
    return TexTree(files, None, str(folder))


def load_tree(path: Path) -> TexTree:
    """The .tex files behind ``path`` (a folder, a .tex file with its folder, or an archive)."""
    if path.is_dir():
        return tree_from_folder(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if _is_tex_name(path.name):
        # A .tex given alone is the main file; its folder's other .tex files are what it \inputs.
        tree = tree_from_folder(path.parent)
        tree.main = path.name
        tree.label = str(path)
        return tree
    return tree_from_bytes(data, str(path))


# ---------------------------------------------------------------------------------------------
# \input / \include

_INPUT = re.compile(
    r"\\(?:input|include|subfile)\s*\{([^{}]*)\}|\\input\s+([^\s{}\\%]+)"
    r"|\\(?:sub)?import\s*\{([^{}]*)\}\s*\{([^{}]*)\}"
)


def _resolve_input(tree: TexTree, name: str, base_dirs: list[str]) -> str | None:
    name = name.strip().strip('"')
    for base in base_dirs:
        for candidate in (name, name + ".tex"):
            key = os.path.normpath(os.path.join(base, candidate)).replace(os.sep, "/")
            key = key.removeprefix("./")
            if key in tree.files:
                return key
    return None


def inline_inputs(tree: TexTree, key: str, depth: int = 0, stack: tuple[str, ...] = ()) -> str:
    """The text of ``key`` with every ``\\input``/``\\include`` replaced by the file's own text.

    Cycles are cut, and so is a source whose files \\input each other so often that the whole
    would outgrow :data:`MAX_INLINED_CHARS` (an exponential include tree is a cheap bomb)."""
    text = strip_comments(tree.files[key])
    tree.inlined_chars += len(text)
    if tree.inlined_chars > MAX_INLINED_CHARS:
        raise SourceError(
            f"{tree.label}: refused, its \\input files expand to more than "
            f"{MAX_INLINED_CHARS // (1024 * 1024)} MiB"
        )
    if depth >= MAX_INPUT_DEPTH:
        return text
    main_dir = os.path.dirname(tree.main or key)
    here = os.path.dirname(key)

    def repl(m: re.Match) -> str:
        if m.group(3) is not None:  # \import{dir}{file}
            name, bases = m.group(4), [os.path.join(here, m.group(3)), os.path.join(main_dir, m.group(3))]
        else:
            name, bases = m.group(1) if m.group(1) is not None else m.group(2), [main_dir, here, ""]
        found = _resolve_input(tree, name, bases)
        if found is None or found in stack or found == key:
            if found is None:
                tree.missing_inputs.append(name.strip())
            return ""
        return "\n" + inline_inputs(tree, found, depth + 1, (*stack, key)) + "\n"

    return _INPUT.sub(repl, text)


_DOCUMENTCLASS = re.compile(r"^[^%\n]*\\documentclass", re.M)
_MAIN_NAMES = ("main.tex", "ms.tex", "paper.tex", "article.tex")


def is_main_file(text: str) -> bool:
    """Whether a .tex file's text starts a document (an uncommented ``\\documentclass``)."""
    return bool(_DOCUMENTCLASS.search(text))


def find_main(tree: TexTree) -> str:
    """The main file: the one with ``\\documentclass`` (and ``\\begin{document}``), else the largest."""
    if tree.main and tree.main in tree.files:
        return tree.main
    with_class = [k for k, v in tree.files.items() if _DOCUMENTCLASS.search(v)]
    with_doc = [k for k in with_class if "\\begin{document}" in tree.files[k]]
    pool = with_doc or with_class or list(tree.files)
    for name in _MAIN_NAMES:
        for k in pool:
            if os.path.basename(k).lower() == name:
                return k
    return max(pool, key=lambda k: (len(tree.files[k]), -k.count("/")))


# ---------------------------------------------------------------------------------------------
# Front matter and sections

_SECTION = re.compile(r"\\(section|subsection|subsubsection|paragraph)\*?\s*(?=[\[{])")
_APPENDIX = re.compile(r"\\appendix(?![A-Za-z])|\\begin\{appendices\}")


def _command_arg(text: str, command: str) -> tuple[str, int, int] | None:
    """(argument, start, end) of the first ``\\command[opt]{arg}`` in ``text``."""
    for m in re.finditer(r"\\" + command + r"\*?(?![A-Za-z])", text):
        i = skip_spaces(text, m.end())
        opt = bracket_group(text, i)
        if opt:
            i = skip_spaces(text, opt[1])
        got = brace_group(text, i)
        if got:
            return got[0], m.start(), got[1]
    return None


def _remove_commands(text: str, names: str) -> str:
    r"""Remove ``\name{...}`` commands with their (brace-balanced) argument."""
    out, pos = [], 0
    for m in re.finditer(r"\\(?:" + names + r")\*?(?![A-Za-z])", text):
        if m.start() < pos:
            continue
        got = brace_group(text, skip_spaces(text, m.end()))
        out.append(text[pos : m.start()])
        pos = got[1] if got else m.end()
    out.append(text[pos:])
    return "".join(out)


def parse_authors(text: str) -> tuple[str, ...]:
    r"""Author names from ``\author`` blocks: ``\and``-separated, first line of each, no notes."""
    names: list[str] = []
    blocks = []
    for m in re.finditer(r"\\(?:author|icmlauthor)\s*(?:\[[^\]]*\])?\s*(?=\{)", text):
        got = brace_group(text, m.end())
        if got:
            blocks.append(got[0])
    for block in blocks:
        block = _remove_commands(block, "thanks|footnote|footnotemark|email|texttt|url|affil|inst|orcidlink")
        for chunk in re.split(r"\\(?:and|And|AND)(?![A-Za-z])", block):
            first = re.split(r"\\\\|\\newline", chunk, maxsplit=1)[0]
            name = re.sub(r"\$[^$]*\$|\^\{?[\w,*]*\}?", "", to_text(first)).strip(" ,;*\n")
            for part in re.split(r"\s*,\s*|\s+and\s+", name) if "," in name or " and " in name else [name]:
                part = " ".join(part.split())
                if part and len(part) < 80 and part not in names:
                    names.append(part)
    return tuple(names)


_VENUE_YEAR = re.compile(
    r"(?:neurips|nips|iclr|icml|cvpr|iccv|eccv|acl|emnlp|naacl|aaai|ijcai|colm|tmlr|aistats|uai)"
    r"[_-]?(20\d\d)",
    re.I,
)


def guess_year(preamble: str, arxiv_id: str | None) -> int | None:
    got = _command_arg(preamble, "date") or _command_arg(preamble, "copyrightyear")
    if got:
        m = re.search(r"\b(19[5-9]\d|20\d\d)\b", got[0])
        if m:
            return int(m.group(1))
    if arxiv_id:
        m = re.match(r"(\d{2})(\d{2})\.\d{4,5}", arxiv_id) or re.search(r"/(\d{2})(\d{2})\d{3}", arxiv_id)
        if m:
            yy = int(m.group(1))
            return 2000 + yy if yy < 90 else 1900 + yy
    m = _VENUE_YEAR.search(preamble)
    return int(m.group(1)) if m else None


def split_sections(body: str) -> list[Section]:
    r"""One :class:`Section` per ``\section`` and ``\subsection`` (named "Section / Subsection").

    Text before the first heading becomes "Introduction" when it is not empty; deeper headings
    (``\subsubsection``, ``\paragraph``) stay inside their section as a line of their own.
    """
    appendix_at = _APPENDIX.search(body)
    heads: list[tuple[int, int, str, str]] = []  # start, end, level, title (LaTeX)
    for m in _SECTION.finditer(body):
        i = m.end()
        opt = bracket_group(body, i)
        if opt:
            i = skip_spaces(body, opt[1])
        got = brace_group(body, i)
        if got:
            heads.append((m.start(), got[1], m.group(1), got[0]))
    sections: list[Section] = []
    parent = ""
    chunks: list[tuple[str, str]] = []

    def text_between(start: int, end: int) -> str:
        # Deeper headings inside a section become a line with their title.
        chunk = body[start:end]
        for h_start, h_end, _level, title in reversed([h for h in heads if start <= h[0] < end]):
            chunk = chunk[: h_start - start] + f"\n\n{title}.\n" + chunk[h_end - start :]
        return chunk

    main_heads = [h for h in heads if h[2] in ("section", "subsection")]
    first = main_heads[0][0] if main_heads else len(body)
    chunks.append(("Introduction", text_between(0, first)))
    for n, (start, end, level, title) in enumerate(main_heads):
        stop = main_heads[n + 1][0] if n + 1 < len(main_heads) else len(body)
        name = to_text(title).replace("\n", " ").strip() or level.title()
        if appendix_at and start > appendix_at.start() and level == "section":
            name = f"Appendix: {name}"
        if level == "section":
            parent = name
        elif parent:
            name = f"{parent} / {name}"
        chunks.append((name, text_between(end, stop)))
    for name, chunk in chunks:
        text = to_text(chunk)
        if text:
            sections.append(Section(name, text))
    return sections


def parse_tree(
    tree: TexTree, *, source: str, arxiv_id: str | None = None, source_kind: str = "latex"
) -> Paper:
    """A :class:`Paper` from the files of one LaTeX source."""
    main = find_main(tree)
    tree.main = main
    text = inline_inputs(tree, main)
    text, macros = collect_macros(text)
    begin = text.find("\\begin{document}")
    preamble, body = (text[:begin], text[begin + len("\\begin{document}") :]) if begin >= 0 else ("", text)
    end = body.find("\\end{document}")
    if end >= 0:
        body = body[:end]
    preamble, body = expand_macros(preamble, macros), expand_macros(body, macros)
    front = preamble + body[:20000]
    title_arg = _command_arg(front, "title") or _command_arg(front, "icmltitle")
    title = to_text(_remove_commands(title_arg[0], "thanks|footnote")).replace("\n", " ") if title_arg else ""
    title = " ".join(title.split())
    authors = parse_authors(front)
    abstract = ""
    m = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", body, re.S)
    if m:
        abstract, body = m.group(1), body[: m.start()] + body[m.end() :]
    else:
        got = _command_arg(body, "abstract")
        if got:
            abstract, body = got[0], body[: got[1]] + body[got[2] :]
    # The front matter commands are not body text.
    body = _remove_commands(
        body,
        "title|author|icmltitle|icmlauthor|affiliation|affil|date|keywords|icmlkeywords"
        "|icmlaffiliation|icmlcorrespondingauthor|thanks",
    )
    sections = split_sections(clean_body(body))
    if not sections and not abstract:
        raise SourceError(f"{tree.label or source}: no text found in the LaTeX source")
    digest = hashlib.sha256(
        "\0".join(f"{k}\0{v}" for k, v in sorted(tree.files.items())).encode()
    ).hexdigest()
    meta = {"main_file": main, "tex_files": sorted(tree.files), "macros_expanded": sorted(macros)}
    if tree.missing_inputs:
        meta["missing_inputs"] = sorted(set(tree.missing_inputs))
    return Paper(
        paper_id=arxiv_id or f"sha256-{digest[:16]}",
        title=title or (sections[0].name if sections else ""),
        abstract=to_text(clean_body(abstract)),
        sections=tuple(sections),
        year=guess_year(preamble, arxiv_id),
        authors=authors,
        source=source,
        source_kind=source_kind,
        metadata=meta,
    )


def read_latex(path: str | Path, *, arxiv_id: str | None = None, source_kind: str = "latex") -> Paper:
    """Read a LaTeX paper from a ``.tex`` file, a folder, or an e-print (``.tar.gz`` or ``.gz``)."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"{p}: no such file or folder")
    return parse_tree(load_tree(p), source=str(path), arxiv_id=arxiv_id, source_kind=source_kind)
