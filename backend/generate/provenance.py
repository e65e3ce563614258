"""Where a generated sample came from, as Data reads it: filter clauses, facet counts, one sample's record.

The pipeline writes one provenance row per generated sample (paper, section, repository file:line,
generator model, prompt version, run); Data filters and counts by paper, year and generator model
through the clauses and counts here, so neither the Data page nor the CLI holds SQL of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

TABLE = "sample_provenance"  # created by migration m014_generate
#: what a provenance row holds besides its sample id, in the order the detail pane shows it
FIELDS = (
    "run_id",
    "paper_id",
    "paper_title",
    "paper_year",
    "section",
    "repo_file",
    "repo_line",
    "model",
    "prompt_version",
    "step",
)
#: a paper facet value longer than this is cut in its label (the full title is the tooltip)
PAPER_LABEL_CHARS = 26


def where_clauses(
    papers: tuple[str, ...], years: tuple[int, ...], generators: tuple[str, ...]
) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``samples s`` for the paper / year / generator facets (OR within one, AND across)."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (("paper_id", papers), ("paper_year", years), ("model", generators)):
        if values:
            clauses.append(
                f"s.id IN (SELECT sample_id FROM {TABLE} WHERE {column} IN ({','.join('?' * len(values))}))"
            )
            params += list(values)
    return clauses, params


def facet_counts(db: sqlite_utils.Database, where: str = "1", params: list | None = None) -> dict[str, dict]:
    """{"by_paper": {paper_id: n}, "paper_titles": {paper_id: title}, "by_year": {"2017": n},
    "by_generator": {model: n}} over the samples matching ``where`` (one scan of the provenance rows)."""
    join = "" if where == "1" else f" JOIN samples s ON s.id = p.sample_id WHERE {where}"
    rows = db.conn.execute(
        f"SELECT p.paper_id, max(p.paper_title), p.paper_year, p.model, count(*) FROM {TABLE} p{join}"
        " GROUP BY p.paper_id, p.paper_year, p.model",
        params or [],
    ).fetchall()
    by_paper: dict[str, int] = {}
    titles: dict[str, str] = {}
    by_year: dict[str, int] = {}
    by_generator: dict[str, int] = {}
    for paper_id, title, year, model, n in rows:
        by_paper[paper_id] = by_paper.get(paper_id, 0) + n
        titles[paper_id] = title or paper_id
        if year is not None:
            by_year[str(year)] = by_year.get(str(year), 0) + n
        by_generator[model or ""] = by_generator.get(model or "", 0) + n
    return {
        "by_paper": dict(sorted(by_paper.items(), key=lambda kv: titles[kv[0]].casefold())),
        "paper_titles": titles,
        "by_year": dict(sorted(by_year.items())),
        "by_generator": dict(sorted(by_generator.items())),
    }


def for_sample(db: sqlite_utils.Database, sample_id: int) -> dict | None:
    """The provenance of one sample (every field of :data:`FIELDS`), or None for a sample not generated."""
    cur = db.conn.execute(f"SELECT {', '.join(FIELDS)} FROM {TABLE} WHERE sample_id = ?", (sample_id,))
    row = cur.fetchone()
    return dict(zip(FIELDS, row, strict=True)) if row is not None else None


def paper_title(db: sqlite_utils.Database, paper_id: str) -> str:
    """The title recorded for ``paper_id`` ("" when none is)."""
    row = db.conn.execute(
        f"SELECT paper_title FROM {TABLE} WHERE paper_id = ? LIMIT 1", (paper_id,)
    ).fetchone()
    return (row[0] or "") if row else ""


def generator_label(model: str) -> str:
    """A facet label for a generator model: a file's name rather than its whole path, cut to fit."""
    text = model.strip()
    if text.startswith("replay:"):
        text = "replay: " + text.removeprefix("replay:").replace("\\", "/").rsplit("/", 1)[-1]
    elif not text.startswith(("http://", "https://")) and "/" in text:
        text = text.rsplit("/", 1)[-1]
    return text if len(text) <= PAPER_LABEL_CHARS else text[: PAPER_LABEL_CHARS - 1] + "…"


def paper_label(paper_id: str, title: str) -> str:
    """A facet label for a paper: its title cut to fit the facet column (the id where it has none)."""
    text = " ".join((title or paper_id).split())
    return text if len(text) <= PAPER_LABEL_CHARS else text[: PAPER_LABEL_CHARS - 1].rstrip() + "…"
