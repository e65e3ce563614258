"""Readers that turn papers and repositories into the records of :mod:`backend.generate.model`.

``read_paper(source)`` takes a ``.tex`` file, a LaTeX folder, an arXiv e-print (``.tar.gz`` or
gzipped ``.tex``), a PDF, a unarXive JSONL (``file.jsonl`` with one paper, or ``file.jsonl#ID``),
or an arXiv id / arxiv.org URL (online, cached). ``read_repository(source)`` takes a folder, a
``.zip`` or a GitHub URL. Both raise :class:`SourceError`, whose message is one line for the user.
Qt-free; the native parsers (pypdf, tree-sitter) run in child processes.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.generate.model import CodeUnit, Paper, PaperSource
from backend.generate.sources.errors import Problems, SourceError

__all__ = [
    "Problems",
    "SourceError",
    "discover_papers",
    "read_manifest",
    "read_paper",
    "read_papers",
    "read_repository",
    "PaperSource",
]

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".gz")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _kind_of_file(path: Path) -> str:
    """ "latex" | "pdf" | "unarxive" for an existing file, by suffix and then by content."""
    name = path.name.lower()
    if name.endswith((".tex", ".ltx", *_ARCHIVE_SUFFIXES)):
        return "latex"
    if name.endswith(".pdf"):
        return "pdf"
    if name.endswith(_JSONL_SUFFIXES):
        return "unarxive"
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.lstrip().startswith(b"{"):
        return "unarxive"
    return "latex"


def read_paper(source: str) -> Paper:
    """One paper from ``source`` (see the module doc); raises :class:`SourceError`."""
    from backend.generate.sources.arxiv import ArxivClient, parse_arxiv_id
    from backend.generate.sources.latex import read_latex
    from backend.generate.sources.pdf import read_pdf
    from backend.generate.sources.unarxive import read_unarxive_paper

    text = str(source).strip()
    if not text:
        raise SourceError("no paper given")
    path_part, _, selector = text.partition("#")
    path = Path(path_part).expanduser()
    if path.is_dir():
        return read_latex(path)
    if path.is_file():
        kind = _kind_of_file(path)
        if kind == "pdf":
            return read_pdf(path)
        if kind == "unarxive":
            return read_unarxive_paper(path, selector or None)
        return read_latex(path)
    arxiv_id = parse_arxiv_id(text)
    if arxiv_id:
        return ArxivClient().read(arxiv_id)
    raise SourceError(f"{text}: no such file or folder, and not an arXiv id")


def read_papers(source: str) -> Problems:
    """Every paper in ``source``: all records of a unarXive JSONL, every paper of a folder of
    papers (see :func:`discover_papers`), else the one paper. ``.problems`` lists the failures."""
    from backend.generate.sources.unarxive import read_unarxive

    path = Path(str(source)).expanduser()
    if path.is_file() and "#" not in str(source) and _kind_of_file(path) == "unarxive":
        return read_unarxive(path)
    out = Problems()
    for item in discover_papers(path) if path.is_dir() else [str(source)]:
        try:
            out.append(read_paper(item))
        except SourceError as exc:
            # Readers name the file already ("note.pdf: not a PDF"); others get it in front.
            message = str(exc)
            out.problems.append(
                message if message.startswith((item, Path(item).name)) else f"{item}: {message}"
            )
    return out


def _has_main_tex(folder: Path) -> bool:
    from backend.generate.sources.latex import is_main_file

    for entry in folder.iterdir():
        if entry.suffix.lower() == ".tex" and entry.is_file():
            try:
                if is_main_file(entry.read_text("utf-8", errors="replace")):
                    return True
            except OSError:
                continue
    return False


def discover_papers(folder: Path) -> list[str]:
    """The paper sources in a folder: the folder itself when it is one LaTeX paper, else each
    PDF, e-print archive, main ``.tex``, JSONL and LaTeX sub-folder in it (sorted)."""
    folder = Path(folder)
    if _has_main_tex(folder):
        return [str(folder)]
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if any(p.suffix.lower() == ".tex" for p in entry.rglob("*.tex")):
                found.append(str(entry))
        elif entry.name.lower().endswith((".pdf", ".tex", *_ARCHIVE_SUFFIXES, *_JSONL_SUFFIXES)):
            found.append(str(entry))
    return found


def read_repository(source: str) -> list[CodeUnit]:
    """Code units of a folder, a ``.zip`` or a GitHub URL; the list's ``.problems`` says what was
    skipped (files that do not parse, vendored or huge files). Raises :class:`SourceError`."""
    from backend.generate.sources.repo import read_repository as _read

    return _read(os.fspath(source))


def read_manifest(path: str) -> list[PaperSource]:
    """Rows of a JSONL/CSV manifest; the list's ``.problems`` names bad rows by line number."""
    from backend.generate.sources.manifest import read_manifest as _read

    return _read(path)
