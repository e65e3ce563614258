"""Colour-by facets for the map: a code per point and the labels the legend shows.

Generic over facet columns: a facet is a name and one SQL expression over ``samples s`` (plus an
optional join). The built-in ones are below; another area adds its own with
:func:`register_colour_facet` (e.g. provenance: ``register_colour_facet("generator model",
"s.generator_model")``), or simply adds a column the candidates in :data:`PROVENANCE` name, and the
map offers it. ``near-duplicate cluster`` is not a column: the near-duplicate finder computes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import sqlite_utils

MAX_LABELS = 20  # the legend's values; the rest are "(other)"
NONE_LABEL = "(none)"
OTHER_LABEL = "(other)"
LENGTH_BINS = 8

# A palette readable on a dark and a light background (Tableau 20 order), RGB.
PALETTE = np.array(
    [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (188, 189, 34),
        (23, 190, 207),
        (174, 199, 232),
        (255, 187, 120),
        (152, 223, 138),
        (255, 152, 150),
        (197, 176, 213),
        (196, 156, 148),
        (247, 182, 210),
        (219, 219, 141),
        (158, 218, 229),
        (57, 59, 121),
        (99, 121, 57),
        (127, 127, 127),
        (199, 199, 199),
    ],
    dtype=np.uint8,
)
GREY = np.array((160, 160, 160), dtype=np.uint8)


@dataclass(frozen=True)
class ColourFacet:
    name: str
    expr: str  # SQL over ``samples s``: the value of one sample
    numeric: bool = False  # binned into ranges (token length) instead of values
    requires: str = ""  # a samples column that must exist for the facet to be offered


COLOUR_FACETS: dict[str, ColourFacet] = {}
# Computed facets: name -> fn(db, ids) -> (codes, labels); not SQL columns.
COMPUTED: dict[str, Callable] = {}


def register_colour_facet(name: str, expr: str, *, numeric: bool = False, requires: str = "") -> None:
    COLOUR_FACETS[name] = ColourFacet(name, expr, numeric, requires)


for _name, _expr in (
    ("kind", "s.kind"),
    ("category", "s.category"),
    ("status", "s.status"),
    ("dataset", "s.dataset"),
    ("tag", "(SELECT min(t.tag) FROM sample_tags t WHERE t.sample_id = s.id)"),
):
    register_colour_facet(_name, _expr)
# Approximate tokens (4 characters each): the tokenizer of no particular model, and free to compute.
register_colour_facet(
    "token length", "(length(s.instruction) + length(s.input) + length(s.output)) / 4", numeric=True
)
# Provenance columns, offered when the store has them (Data's provenance facets add them).
PROVENANCE = (
    ("generator model", "generator_model"),
    ("source paper", "source_paper"),
    ("paper", "paper"),
    ("year", "year"),
    ("paper year", "paper_year"),
)
for _name, _column in PROVENANCE:
    register_colour_facet(_name, f"s.{_column}", requires=_column)


def available(db: sqlite_utils.Database) -> list[str]:
    """The facets this store can colour by (provenance ones only where their column exists)."""
    columns = {r[1] for r in db.conn.execute("PRAGMA table_info(samples)")}
    names = [f.name for f in COLOUR_FACETS.values() if not f.requires or f.requires in columns]
    return ["map cluster", *names, *COMPUTED]


def _align(ids: np.ndarray, rows: list[tuple]) -> list:
    """Values for ``ids`` (sorted) from (id, value) rows sorted by id; missing ids get None."""
    values: list = [None] * len(ids)
    if not rows:
        return values
    row_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    pos = np.minimum(np.searchsorted(row_ids, ids), len(row_ids) - 1)
    hit = row_ids[pos] == ids
    for i in np.flatnonzero(hit):
        values[i] = rows[pos[i]][1]
    return values


def codes_from_values(values: list) -> tuple[np.ndarray, list[str]]:
    """Categorical codes, most frequent value first; beyond MAX_LABELS values: "(other)"."""
    keyed = [NONE_LABEL if v is None or v == "" else str(v) for v in values]
    uniq, inverse, counts = np.unique(np.array(keyed, dtype=object), return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    labels = [str(uniq[i]) for i in order]
    rank = np.empty(len(uniq), dtype=np.int32)
    rank[order] = np.arange(len(uniq), dtype=np.int32)
    codes = rank[inverse.ravel()]
    if len(labels) > MAX_LABELS:
        codes = np.minimum(codes, MAX_LABELS - 1)
        labels = [*labels[: MAX_LABELS - 1], OTHER_LABEL]
    return codes.astype(np.int32), labels


def codes_from_numbers(values: list) -> tuple[np.ndarray, list[str]]:
    """Numeric values binned at their quantiles ("120–250")."""
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    ok = ~np.isnan(arr)
    if not ok.any():
        return np.zeros(len(arr), dtype=np.int32), [NONE_LABEL]
    edges = np.unique(np.quantile(arr[ok], np.linspace(0, 1, LENGTH_BINS + 1)).round())
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1])
    codes = np.clip(np.searchsorted(edges, arr, side="right") - 1, 0, len(edges) - 2).astype(np.int32)
    labels = [f"{int(edges[i]):,}–{int(edges[i + 1]):,}" for i in range(len(edges) - 1)]
    if not ok.all():
        codes[~ok] = len(labels)
        labels.append(NONE_LABEL)
    return codes, labels


def facet_codes(db: sqlite_utils.Database, name: str, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(code per id, labels) for colouring ``ids`` (sorted sample ids) by facet ``name``."""
    if name in COMPUTED:
        return COMPUTED[name](db, ids)
    facet = COLOUR_FACETS.get(name)
    if facet is None:
        raise KeyError(f"no colour facet {name!r}")
    rows = db.conn.execute(f"SELECT s.id, {facet.expr} FROM samples s ORDER BY s.id").fetchall()
    values = _align(ids, rows)
    return codes_from_numbers(values) if facet.numeric else codes_from_values(values)


def near_duplicate_codes(
    db: sqlite_utils.Database, ids: np.ndarray, *, max_samples: int = 50_000
) -> tuple[np.ndarray, list[str]]:
    """Near-duplicate groups (the MinHash finder over the first ``max_samples``) as colours."""
    from backend.datasets.neardup import find_near_duplicates

    groups = find_near_duplicates(db, max_samples=max_samples)
    codes = np.zeros(len(ids), dtype=np.int32)
    shown = MAX_LABELS - 2  # the rest share one "(smaller groups)" colour
    labels = ["(no near-duplicate)", *(f"group {n + 1} ({len(g.ids)})" for n, g in enumerate(groups[:shown]))]
    if len(groups) > shown:
        labels.append("(smaller groups)")
    for n, group in enumerate(groups):
        gids = np.asarray(group.ids, dtype=np.int64)
        rows = np.minimum(np.searchsorted(ids, gids), max(0, len(ids) - 1))
        codes[rows[ids[rows] == gids]] = min(n + 1, shown + 1)
    return codes, labels


COMPUTED["near-duplicate cluster"] = near_duplicate_codes


def colours_for(labels: list[str]) -> np.ndarray:
    """RGB per label (uint8, len(labels) x 3); "(none)" and "(other)" are grey."""
    out = np.array([PALETTE[i % len(PALETTE)] for i in range(len(labels))], dtype=np.uint8).reshape(-1, 3)
    for i, label in enumerate(labels):
        if label in (NONE_LABEL, OTHER_LABEL, "(no near-duplicate)", "(smaller groups)", "noise"):
            out[i] = GREY
    return out


def cluster_codes(cluster: np.ndarray, clusters: list[dict]) -> tuple[np.ndarray, list[str]]:
    """Map clusters as colour codes (largest first, like the cluster list); noise is grey."""
    order = [c["id"] for c in clusters][: MAX_LABELS - 1]
    lookup = np.full(
        max([*order, int(cluster.max()) if len(cluster) else 0, 0]) + 2, len(order), dtype=np.int32
    )
    for code, cid in enumerate(order):
        lookup[cid] = code
    names = {c["id"]: c["name"] for c in clusters}
    codes = lookup[np.where(cluster >= 0, cluster, len(lookup) - 1)]
    return codes, [names[c] for c in order] + ["noise"]
