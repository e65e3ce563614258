"""The paper's Figure 6 in Bench: the category distribution of one kind of the store's data.

The counts are :func:`backend.datasets.stats.stats` for that kind, exactly what
``deepones data stats --kind K --json`` prints, plus the rows the Bench tab's table shows (category,
samples, share of the kind, review counts), so the Qt view only renders.
"""

from __future__ import annotations

from pathlib import Path


def category_distribution(db_path: Path, kind: str) -> dict:
    """``stats`` for ``kind`` plus ``rows``: [{"category", "samples", "share", "review": {status: n}}]."""
    from backend.datasets.query import SampleFilter
    from backend.datasets.stats import stats
    from backend.store import connection

    with connection(db_path) as db:
        st = stats(db, SampleFilter(kinds=(kind,)))
    total = st["total"]
    st["rows"] = [{"category": name, "samples": n, "share": n / total if total else 0.0,
                   "review": st["review"].get(name, {})} for name, n in st["by_category"].items()]
    return st
