"""The records the Generate sources produce and the pipeline consumes.

Kept tiny and dependency-free so that readers (sources/*) and the pipeline can be built and
tested apart: a reader returns a :class:`Paper`, a repository reader a list of :class:`CodeUnit`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """One section of a paper: its heading and its clean text (maths kept as LaTeX)."""

    name: str
    text: str


@dataclass(frozen=True)
class CodeUnit:
    """A function or class of a repository, with where it is (``file`` relative to the repo root)."""

    kind: str  # "class" | "function" | "method"
    name: str
    file: str
    line: int
    language: str  # "python" | "cpp" | "cuda"
    source: str
    docstring: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Paper:
    """A paper as the pipeline sees it. ``paper_id`` is an arXiv id where known, else a stable
    id made from the source file's content hash (so a re-run finds the same paper)."""

    paper_id: str
    title: str
    abstract: str
    sections: tuple[Section, ...]
    year: int | None = None
    authors: tuple[str, ...] = ()
    source: str = ""  # the path or URL it was read from
    source_kind: str = ""  # "latex" | "pdf" | "unarxive" | "arxiv"
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sections"] = [asdict(s) for s in self.sections]
        return data


@dataclass(frozen=True)
class PaperSource:
    """One entry of a run: a paper (path, folder, .tar.gz, .pdf, .jsonl record, or arXiv id)
    paired with its repository (path, .zip or URL), as given by ``--repo`` or a manifest row."""

    paper: str
    repo: str | None = None
