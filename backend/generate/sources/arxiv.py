"""Online, optional: papers by arXiv id, fetched politely and cached.

The e-print (LaTeX source) is tried first, as arXiv serves it at ``/e-print/ID`` (a ``.tar.gz``, a
gzipped ``.tex``, or the PDF itself for PDF-only submissions); the PDF at ``/pdf/ID`` is the
fallback. Requests are spaced by 3 s (arXiv's rule for robots), carry a User-Agent, and land in
the app's cache dir, so a second run reads from disk. With no network: one line that says so.
The base URL is configurable (``DEEPONES_ARXIV_URL``) so tests serve the same layout on loopback.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from backend.generate.model import Paper
from backend.generate.sources.download import NotFound, cache_root, fetch_to_cache
from backend.generate.sources.errors import Problems, SourceError
from backend.generate.sources.latex import guess_year, read_latex
from backend.generate.sources.pdf import read_pdf

ENV_BASE_URL = "DEEPONES_ARXIV_URL"
DEFAULT_BASE_URL = "https://arxiv.org"
#: arXiv asks automated clients for at most one request every 3 seconds.
POLITE_INTERVAL_S = 3.0

_NEW_ID = r"\d{4}\.\d{4,5}(?:v\d+)?"
_OLD_ID = r"[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?"
ARXIV_ID = re.compile(rf"^(?:arxiv:)?({_NEW_ID}|{_OLD_ID})$", re.I)
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|e-print)/({_NEW_ID}|{_OLD_ID})(?:\.pdf)?/?$", re.I
)


def parse_arxiv_id(text: str) -> str | None:
    """The arXiv id in ``text`` ("2104.09864", "arXiv:2104.09864v2", an arxiv.org URL), else None."""
    text = text.strip()
    m = ARXIV_ID.match(text) or _ARXIV_URL.match(text)
    return m.group(1) if m else None


class ArxivClient:
    """Fetches papers by arXiv id into a disk cache, one request per ``min_interval_s`` per host."""

    def __init__(
        self,
        base_url: str | None = None,
        cache_dir: Path | None = None,
        min_interval_s: float = POLITE_INTERVAL_S,
        timeout_s: float = 60.0,
    ) -> None:
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root() / "arxiv"
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s

    def _cached(self, arxiv_id: str, kind: str) -> Path:
        return self.cache_dir / arxiv_id.replace("/", "_") / kind

    def _fetch(self, arxiv_id: str, kind: str) -> Path:
        return fetch_to_cache(
            f"{self.base_url}/{kind}/{arxiv_id}",
            self._cached(arxiv_id, kind),
            what=f"arXiv {arxiv_id} ({'source' if kind == 'e-print' else 'PDF'})",
            min_interval_s=self.min_interval_s,
            timeout_s=self.timeout_s,
        )

    def read(self, arxiv_id: str) -> Paper:
        """The paper ``arxiv_id``: from its LaTeX source, else from its PDF."""
        clean = parse_arxiv_id(arxiv_id)
        if clean is None:
            raise SourceError(f"{arxiv_id!r} is not an arXiv id (like 2104.09864 or cs/0112017)")
        first_error: SourceError | None = None
        try:
            path = self._fetch(clean, "e-print")
            with open(path, "rb") as fh:
                is_pdf = fh.read(5) == b"%PDF-"
            paper = (
                read_pdf(path, arxiv_id=clean, source_kind="arxiv")
                if is_pdf
                else read_latex(path, arxiv_id=clean, source_kind="arxiv")
            )
            return dataclasses.replace(paper, source=f"arxiv:{clean}")
        except NotFound as exc:
            first_error = exc
        except SourceError as exc:
            if str(exc).startswith("Offline:"):
                raise
            first_error = exc
        try:
            paper = read_pdf(self._fetch(clean, "pdf"), arxiv_id=clean, source_kind="arxiv")
        except SourceError as exc:
            raise SourceError(f"{exc} (the source failed first: {first_error})") from None
        return dataclasses.replace(
            paper,
            source=f"arxiv:{clean}",
            year=guess_year("", clean) or paper.year,
            metadata={**paper.metadata, "from": "pdf", "source_error": str(first_error)},
        )

    def read_many(self, ids: list[str]) -> Problems:
        """Every paper that could be read; ``.problems`` has one line per id that could not."""
        out = Problems()
        for arxiv_id in ids:
            try:
                out.append(self.read(arxiv_id))
            except SourceError as exc:
                out.problems.append(f"{arxiv_id}: {exc}")
        return out
