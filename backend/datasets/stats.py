"""Counts by kind, category and status: what the stats charts and `deepones data stats` show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.datasets.query import SampleFilter
from backend.datasets.schema import CATEGORIES, STATUSES, TRAITS

if TYPE_CHECKING:
    import sqlite_utils


def stats(db: sqlite_utils.Database, flt: SampleFilter | None = None, *, facets: bool = False) -> dict:
    """{"total", "by_kind", "by_category", "by_status", "review": {category: {status: n}}}.

    With ``facets``, also "by_dataset", "by_tag" and the provenance facets of generated samples
    ("by_paper" with "paper_titles", "by_year", "by_generator") (one scan for everything: at 3.4M rows each
    extra GROUP BY costs about as much as the whole thing).
    """
    where, params = (flt or SampleFilter()).where()
    dataset_col = "s.dataset" if facets else "''"
    rows = db.conn.execute(
        f"SELECT s.kind, s.category, s.status, {dataset_col}, s.traits, count(*) FROM samples s"
        f" WHERE {where} GROUP BY 1, 2, 3, 4, 5",
        params,
    ).fetchall()
    by_kind: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
    review: dict[str, dict[str, int]] = {}
    by_dataset: dict[str, int] = {}
    by_trait: dict[str, int] = {name: 0 for name, _ in TRAITS}
    by_kind_category: dict[str, dict[str, int]] = {}
    for kind, category, status, dataset, traits, n in rows:
        for name, bit in TRAITS:
            if traits & bit:
                by_trait[name] += n
        by_dataset[dataset] = by_dataset.get(dataset, 0) + n
        label = category or "(none)"
        by_kind[kind] = by_kind.get(kind, 0) + n
        by_category[label] = by_category.get(label, 0) + n
        per_kind = by_kind_category.setdefault(kind, {})
        per_kind[label] = per_kind.get(label, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        review.setdefault(label, dict.fromkeys(STATUSES, 0))
        review[label][status] = review[label].get(status, 0) + n
    order = {c: i for i, c in enumerate(CATEGORIES)}
    by_category = dict(sorted(by_category.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    result = {
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_category": by_category,
        "by_status": by_status,
        "review": {c: review[c] for c in by_category},
        "by_trait": by_trait,
        # Figure 6 of the paper: the category distribution of each kind.
        "by_kind_category": {k: dict(sorted(v.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
                             for k, v in sorted(by_kind_category.items())},
    }
    if facets:
        result["by_dataset"] = dict(sorted(by_dataset.items()))
        result["by_tag"] = dict(db.conn.execute(
            "SELECT tag, count(*) FROM sample_tags GROUP BY tag ORDER BY tag" if where == "1" else
            f"SELECT t.tag, count(*) FROM sample_tags t JOIN samples s ON s.id = t.sample_id WHERE {where}"
            " GROUP BY t.tag ORDER BY t.tag", params))
        from backend.generate.provenance import facet_counts

        result.update(facet_counts(db, where, params))   # by_paper, paper_titles, by_year, by_generator
    return result


def format_stats(st: dict) -> str:
    lines = [f"{st['total']:,} samples"]
    for title, key in (("Kinds", "by_kind"), ("Categories", "by_category"), ("Status", "by_status"),
                       ("Contains", "by_trait")):
        lines.append(f"\n{title}:")
        lines += [f"  {name:<32} {n:>10,}" for name, n in st[key].items()]
    return "\n".join(lines)
