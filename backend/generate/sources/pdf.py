"""PDF papers -> :class:`Paper`, for papers with no LaTeX source.

The text of each page comes from ``pypdf`` (BSD) run in a child process with a timeout and a
memory cap (:mod:`.child`): a broken or hostile PDF costs a one-line :class:`SourceError`, never the
caller. Sections are found from numbered headings ("1 Introduction", "3.2 Loss") where the text
has them in order, otherwise each page is a section; the title comes from the metadata or the
first line.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from backend.generate.model import Paper, Section
from backend.generate.sources.child import run_parser_child
from backend.generate.sources.errors import SourceError

_CHILD = Path(__file__).with_name("pdf_child.py")
MAX_PAGES = 200

_HEADING = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?\.?\s+([A-Z][^\n]{1,90})$")
_END_OF_BODY = re.compile(r"^(?:references|bibliography)$", re.I)
_ABSTRACT = re.compile(r"^abstract\b[.:—-]?\s*(.*)$", re.I)
# "convolu-\ntional" at a line end is one word; "state-of-the-art" split after "of-" is not worth the guess.
_HYPHENATED = re.compile(r"([a-z])-\n([a-z])")
_JUNK_TITLES = re.compile(r"^(?:untitled|microsoft word|document\d*$|\s*$)", re.I)


_ROMAN_HEADING = re.compile(r"^([IVX]{1,5})\.\s+([A-Z][^\n]{1,90})$")  # IEEE: "II. RELATED WORK"
_LETTER_HEADING = re.compile(r"^([A-H])\.\s+([A-Z][^\n]{1,90})$")  # IEEE: "A. Datasets"
_ROMAN = {
    "I": 1,
    "II": 2,
    "III": 3,
    "IV": 4,
    "V": 5,
    "VI": 6,
    "VII": 7,
    "VIII": 8,
    "IX": 9,
    "X": 10,
    "XI": 11,
    "XII": 12,
    "XIII": 13,
    "XIV": 14,
    "XV": 15,
}


def _heading_parts(line: str) -> tuple[int, int | None, str] | None:
    """(section number, subsection number or None, name) if ``line`` looks like a heading."""
    m = _HEADING.match(line)
    if m:
        return int(m.group(1)), int(m.group(2)) if m.group(2) else None, m.group(3).strip()
    m = _ROMAN_HEADING.match(line)
    if m and m.group(1) in _ROMAN:
        return _ROMAN[m.group(1)], None, m.group(2).strip().title()
    m = _LETTER_HEADING.match(line)
    if m:
        return -1, ord(m.group(1)) - ord("A") + 1, m.group(2).strip()
    return None


def find_headings(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, "Name" or "Parent / Name") of numbered headings that follow in order.

    Numbers are "1 Introduction" / "2.1 Loss", or IEEE's "II. RELATED WORK" / "A. Datasets". A
    line counts as a heading only if its number continues the sequence (1, 2, 3...; 2.1, 2.2
    under 2), which keeps table rows and numbered list items ("3 layers of ...") out.
    """
    found: list[tuple[int, str]] = []
    top, sub, parent = 0, 0, ""
    for idx, raw in enumerate(lines):
        line = raw.strip()
        parts = _heading_parts(line)
        if parts is None or len(line.split()) > 12 or line.endswith((".", ",", ";")):
            continue
        major, minor, name = parts
        if minor is None and major == top + 1:
            top, sub, parent = major, 0, name
            found.append((idx, name))
        elif minor is not None and major in (top, -1) and top and minor == sub + 1:
            sub = minor
            found.append((idx, f"{parent} / {name}"))
    return found


def _pdf_year(date: str) -> int | None:
    m = re.match(r"D?:?((?:19|20)\d\d)", date.strip())
    return int(m.group(1)) if m else None


def sections_from_pages(pages: list[str]) -> tuple[str, list[Section]]:
    """(abstract, sections) from the pages' text."""
    lines: list[str] = []
    for page in pages:
        lines.extend(page.splitlines())
    end = next((i for i, ln in enumerate(lines) if _END_OF_BODY.match(ln.strip())), len(lines))
    heads = find_headings(lines[:end])
    abstract = ""
    for i, ln in enumerate(lines[: heads[0][0] if heads else min(len(lines), 80)]):
        m = _ABSTRACT.match(ln.strip())
        if m:
            stop = heads[0][0] if heads else i + 30
            abstract = " ".join([m.group(1), *(x.strip() for x in lines[i + 1 : stop])]).strip()
            break
    if len(heads) < 2:
        sections = [Section(f"Page {n}", page.strip()) for n, page in enumerate(pages, 1) if page.strip()]
        return abstract, sections
    sections = []
    for n, (idx, name) in enumerate(heads):
        stop = heads[n + 1][0] if n + 1 < len(heads) else end
        text = _HYPHENATED.sub(r"\1\2", "\n".join(ln.rstrip() for ln in lines[idx + 1 : stop]).strip())
        if text:
            sections.append(Section(name, text))
    return abstract, sections


def read_pdf(
    path: str | Path,
    *,
    arxiv_id: str | None = None,
    source_kind: str = "pdf",
    timeout_s: float = 60.0,
    memory_mb: int = 1024,
) -> Paper:
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise SourceError(f"{p}: cannot be read ({exc.strerror or exc})") from exc
    if b"%PDF-" not in head:
        raise SourceError(f"{p.name}: not a PDF file")
    result = run_parser_child(
        _CHILD, [str(p.resolve()), str(MAX_PAGES)], what=p.name, timeout_s=timeout_s, memory_mb=memory_mb
    )
    pages = [str(x) for x in result.get("pages", [])]
    if not any(pg.strip() for pg in pages):
        raise SourceError(f"{p.name}: the PDF has no extractable text (a scan?)")
    meta = result.get("metadata", {})
    abstract, sections = sections_from_pages(pages)
    title = str(meta.get("/Title", "")).strip()
    if _JUNK_TITLES.match(title):
        title = next((ln.strip() for ln in pages[0].splitlines() if ln.strip()), p.stem)
    authors = tuple(a.strip() for a in re.split(r",|;|\band\b", str(meta.get("/Author", ""))) if a.strip())
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    return Paper(
        paper_id=arxiv_id or f"sha256-{digest[:16]}",
        title=title,
        abstract=abstract,
        sections=tuple(sections),
        year=_pdf_year(str(meta.get("/CreationDate", ""))),
        authors=authors,
        source=str(path),
        source_kind=source_kind,
        metadata={"page_count": result.get("page_count", len(pages)), "pages_read": len(pages)},
    )
