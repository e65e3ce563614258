"""Lasso and rectangle selection over map positions, vectorised (100k+ points well under a second).

Even-odd ray casting with numpy: one pass over the polygon's edges, each edge tested against every
candidate point at once; points outside the polygon's bounding box are dropped first.
"""

from __future__ import annotations

import numpy as np


def in_rect(xy: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Boolean mask of the points inside the rectangle (corners in any order)."""
    lo_x, hi_x = min(x0, x1), max(x0, x1)
    lo_y, hi_y = min(y0, y1), max(y0, y1)
    x, y = xy[:, 0], xy[:, 1]
    return (x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y)


def in_polygon(xy: np.ndarray, polygon) -> np.ndarray:
    """Boolean mask of the points inside ``polygon`` (a sequence of (x, y); closed implicitly)."""
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros(len(xy), dtype=bool)
    if len(poly) < 3 or not len(xy):
        return mask
    (min_x, min_y), (max_x, max_y) = poly.min(axis=0), poly.max(axis=0)
    cand = np.flatnonzero(in_rect(xy, min_x, min_y, max_x, max_y))
    if not len(cand):
        return mask
    px = xy[cand, 0].astype(np.float64)
    py = xy[cand, 1].astype(np.float64)
    inside = np.zeros(len(cand), dtype=bool)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    for ax, ay, bx, by in zip(x1, y1, x2, y2, strict=True):
        if ay == by:
            continue  # a horizontal edge never crosses the horizontal ray
        crosses = (ay > py) != (by > py)
        if not crosses.any():
            continue
        idx = np.flatnonzero(crosses)
        x_at = ax + (py[idx] - ay) * (bx - ax) / (by - ay)
        inside[idx[px[idx] < x_at]] ^= True
    mask[cand] = inside
    return mask


def filter_ids(db, flt) -> np.ndarray:
    """Ids of the samples matching a table filter (search words through the FTS index), sorted."""
    from backend.datasets.query import fts_query

    match = fts_query(flt.query, prefix=flt.prefix) if flt.query else ""
    if match:
        where, params = flt.where(with_query=False)
        rows = db.conn.execute(
            f"SELECT f.rowid FROM samples_fts f JOIN samples s ON s.id = f.rowid"
            f" WHERE samples_fts MATCH ? AND {where} ORDER BY f.rowid",
            [match, *params],
        )
    else:
        where, params = flt.where()
        rows = db.conn.execute(f"SELECT s.id FROM samples s WHERE {where} ORDER BY s.id", params)
    return np.fromiter((r[0] for r in rows), dtype=np.int64)
