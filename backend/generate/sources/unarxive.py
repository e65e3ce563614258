"""unarXive-style JSONL -> :class:`Paper` records (the DeepOnes paper's own source format).

One paper per line, in the unarXive 2022 layout: ``paper_id``, ``metadata`` (the arXiv metadata:
``title``, ``authors`` / ``authors_parsed``, ``abstract``, ``versions``, ``update_date``),
``abstract``, ``body_text`` (paragraphs with ``section``, ``sec_number``, ``sec_type``, ``text``)
and ``ref_entries``, whose formulas replace the ``{{formula:ID}}`` markers in the text as LaTeX.
Every line is either imported or reported with its line number; a bad line never stops the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from backend.generate.model import Paper, Section
from backend.generate.sources.errors import Problems, SourceError

_MARKER = re.compile(r"\{\{(\w+):([^{}]*)\}\}")
_EMPTY_BRACKETS = re.compile(r"\s*\((?:see|cf\.|e\.g\.,?)?\s*\)|\s*\[\s*\]")


def _fill_markers(text: str, ref_entries: dict[str, Any]) -> str:
    """Formulas back as ``$latex$``; citation, figure and table markers dropped."""

    def repl(m: re.Match) -> str:
        kind, ref = m.group(1), m.group(2)
        if kind == "formula":
            entry = ref_entries.get(ref) or {}
            latex = str(entry.get("latex", "")).strip()
            return f"${latex}$" if latex else ""
        return ""

    text = _MARKER.sub(repl, text)
    text = _EMPTY_BRACKETS.sub("", text)  # "(see )" left by a dropped citation or figure
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"(?<=\w) (?=[.,;:](?:\s|$))", "", text).strip()


def _year(meta: dict[str, Any], paper_id: str) -> int | None:
    versions = meta.get("versions") or []
    if versions and isinstance(versions[0], dict) and versions[0].get("created"):
        try:
            return parsedate_to_datetime(str(versions[0]["created"])).year
        except (TypeError, ValueError):
            pass
    m = re.match(r"((?:19|20)\d\d)-", str(meta.get("update_date") or ""))
    if m:
        return int(m.group(1))
    m = re.match(r"(\d{2})\d{2}\.\d{4,5}", paper_id)
    return 2000 + int(m.group(1)) if m else None


def _authors(meta: dict[str, Any]) -> tuple[str, ...]:
    parsed = meta.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for row in parsed:
            if isinstance(row, list) and row:
                last, first = str(row[0]).strip(), str(row[1]).strip() if len(row) > 1 else ""
                names.append(" ".join(x for x in (first, last) if x))
        return tuple(n for n in names if n)
    raw = str(meta.get("authors") or "")
    return tuple(a.strip() for a in re.split(r",|\band\b", raw.replace("\n", " ")) if a.strip())


def _abstract(record: dict[str, Any], meta: dict[str, Any], refs: dict[str, Any]) -> str:
    value = record.get("abstract")
    if isinstance(value, dict):
        value = value.get("text", "")
    elif isinstance(value, list):
        value = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in value)
    value = str(value or meta.get("abstract") or "")
    return " ".join(_fill_markers(value, refs).split())


def paper_from_record(record: dict[str, Any], source: str) -> Paper:
    """A :class:`Paper` from one unarXive record; raises SourceError naming what is missing."""
    if not isinstance(record, dict):
        raise SourceError("not a JSON object")
    meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    paper_id = str(record.get("paper_id") or meta.get("id") or "").strip()
    if not paper_id:
        raise SourceError("no paper_id")
    body = record.get("body_text")
    if not isinstance(body, list):
        raise SourceError(f"{paper_id}: no body_text list")
    refs = record.get("ref_entries") if isinstance(record.get("ref_entries"), dict) else {}
    # Paragraphs in order, grouped by their section; a section seen again later continues.
    order: list[str] = []
    texts: dict[str, list[str]] = {}
    parent = ""
    for para in body:
        if not isinstance(para, dict):
            continue
        name = " ".join(str(para.get("section") or "").split()) or "Body"
        sec_type = str(para.get("sec_type") or "")
        if sec_type == "section":
            parent = name
        elif sec_type.startswith("sub") and parent and name != parent:
            name = f"{parent} / {name}"
        text = _fill_markers(str(para.get("text") or ""), refs)
        if not text:
            continue
        if name not in texts:
            order.append(name)
            texts[name] = []
        texts[name].append(text)
    sections = tuple(Section(n, "\n\n".join(texts[n])) for n in order)
    if not sections:
        raise SourceError(f"{paper_id}: body_text has no text")
    return Paper(
        paper_id=paper_id,
        title=" ".join(str(meta.get("title") or record.get("title") or "").split()),
        abstract=_abstract(record, meta, refs),
        sections=sections,
        year=_year(meta, paper_id),
        authors=_authors(meta),
        source=source,
        source_kind="unarxive",
        metadata={k: meta[k] for k in ("categories", "license", "doi", "journal-ref") if meta.get(k)}
        | ({"discipline": record["discipline"]} if record.get("discipline") else {}),
    )


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line number, record or None, problem) for each non-empty line."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), ""
            except ValueError as exc:
                yield lineno, None, f"not valid JSON ({exc.msg})"


def read_unarxive(path: str | Path) -> Problems:
    """Every paper of a unarXive JSONL file; ``.problems`` lists "file:line: reason" for the rest."""
    p = Path(path)
    out = Problems()
    for lineno, record, problem in iter_records(p):
        if record is None:
            out.problems.append(f"{p.name}:{lineno}: {problem}")
            continue
        try:
            out.append(paper_from_record(record, f"{p}:{lineno}"))
        except SourceError as exc:
            out.problems.append(f"{p.name}:{lineno}: {exc}")
    return out


def read_unarxive_paper(path: str | Path, selector: str | None = None) -> Paper:
    """One paper of a JSONL file: the one whose ``paper_id`` or line number is ``selector``, or the
    only one. Raises SourceError when it is not there (or the file holds several and none is named)."""
    p = Path(path)
    if selector is None:
        papers = read_unarxive(p)
        if len(papers) == 1:
            return papers[0]
        if not papers:
            why = papers.problems[0] if papers.problems else "it is empty"
            raise SourceError(f"{p.name}: no paper could be read ({why})")
        raise SourceError(f"{p.name} holds {len(papers)} papers: name one as {p.name}#PAPER_ID")
    for lineno, record, problem in iter_records(p):
        if record is None:
            if selector == str(lineno):
                raise SourceError(f"{p.name}:{lineno}: {problem}")
            continue
        if selector in (str(lineno), str(record.get("paper_id", "")) if isinstance(record, dict) else ""):
            try:
                return paper_from_record(record, f"{p}:{lineno}")
            except SourceError as exc:
                raise SourceError(f"{p.name}:{lineno}: {exc}") from None
    raise SourceError(f"{p.name}: no paper {selector!r} in the file")
