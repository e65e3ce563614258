"""Near-duplicates of one sample, found through the map: its nearest points on the layout, kept
when their MinHash (the near-duplicate finder's word shingles, datasketch) is similar enough.

Near-duplicates have near-identical text, so near-identical vectors and positions: the few hundred
nearest points hold them, and the check scales to any store size (no scan of all samples).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backend.datasets.neardup import shingles

if TYPE_CHECKING:
    import sqlite_utils

CANDIDATES = 300


def near_duplicates_of(
    db: sqlite_utils.Database,
    sample_id: int,
    ids: np.ndarray,
    xy: np.ndarray,
    *,
    threshold: float = 0.7,
    candidates: int = CANDIDATES,
    tree=None,
) -> list[int]:
    """Ids of samples whose text is a near-duplicate of ``sample_id`` (itself included)."""
    import json

    from datasketch import MinHash

    row = int(np.searchsorted(ids, sample_id))
    if row >= len(ids) or ids[row] != sample_id:
        return []
    if tree is None:
        from sklearn.neighbors import KDTree

        tree = KDTree(xy)
    _, near = tree.query(xy[row : row + 1], k=min(candidates, len(ids)))
    cand = ids[near[0]]
    texts = dict(
        db.conn.execute(
            "SELECT id, instruction || char(10) || input || char(10) || output FROM samples"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(cand.tolist()),),
        ).fetchall()
    )

    def sketch(text: str) -> MinHash:
        mh = MinHash(num_perm=64)
        mh.update_batch(list(shingles(text)) or [b""])
        return mh

    mine = sketch(texts.get(sample_id, ""))
    return sorted(
        int(c) for c in cand if c in texts and (c == sample_id or mine.jaccard(sketch(texts[c])) >= threshold)
    )
