"""A manifest pairs papers with repositories for a run of many papers.

JSONL (one ``{"paper": ..., "repo": ...}`` per line) or CSV (a header with ``paper`` and ``repo``
columns). ``paper`` is a path, a ``.jsonl#PAPER_ID`` record or an arXiv id; ``repo`` (optional) a
folder, a ``.zip`` or a URL. Relative paths are taken from the manifest's folder. Bad rows are
reported with their line number in ``.problems``; the good ones are returned.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from backend.generate.model import PaperSource
from backend.generate.sources.errors import Problems, SourceError

_URL_PREFIXES = ("http://", "https://", "arxiv:")


def _resolve(value: str, base: Path) -> str:
    """A relative path that exists next to the manifest, made absolute; anything else as given."""
    if value.startswith(_URL_PREFIXES) or Path(value).is_absolute():
        return value
    path_part = value.split("#", 1)[0]
    candidate = base / path_part
    if candidate.exists():
        return str(candidate) + (value[len(path_part) :])
    return value


def _row(data: object, base: Path) -> PaperSource:
    if not isinstance(data, dict):
        raise SourceError('expected an object with "paper" and "repo"')
    paper = str(data.get("paper") or "").strip()
    if not paper:
        raise SourceError('no "paper"')
    repo = str(data.get("repo") or "").strip() or None
    return PaperSource(paper=_resolve(paper, base), repo=_resolve(repo, base) if repo else None)


def read_manifest(path: str | Path) -> Problems:
    """The :class:`PaperSource` rows of a JSONL or CSV manifest; ``.problems`` has "file:line: why"."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except OSError as exc:
        raise SourceError(f"{p}: cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError:
        raise SourceError(f"{p.name}: not a UTF-8 text file") from None
    base = p.parent
    out = Problems()
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if p.suffix.lower() in (".jsonl", ".json", ".ndjson") or first.lstrip().startswith("{"):
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                out.problems.append(f"{p.name}:{lineno}: not valid JSON ({getattr(exc, 'msg', exc)})")
                continue
            try:
                out.append(_row(data, base))
            except SourceError as exc:
                out.problems.append(f"{p.name}:{lineno}: {exc}")
        return out
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "paper" not in fields:
        raise SourceError(f'{p.name}: a CSV manifest needs a header with a "paper" column (and "repo")')
    reader.fieldnames = fields
    for row in reader:
        lineno = reader.line_num
        if None in row:
            out.problems.append(f"{p.name}:{lineno}: more cells than header columns")
            continue
        try:
            out.append(_row({k: (v or "") for k, v in row.items()}, base))
        except SourceError as exc:
            out.problems.append(f"{p.name}:{lineno}: {exc}")
    return out
