"""Work the Map tab runs off the GUI thread: plain functions on their own store connection,
calling backend functions only (``run_in_background`` passes progress, partial and cancel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.datasets.query import SampleFilter
from backend.store import connection


def load_map(db_path: Path, *, progress, partial, cancel) -> dict:
    """The saved map (positions, clusters), a KD-tree for hover/click, and the colour facets."""
    from backend.datamap.colour import available
    from backend.datamap.points import load_points, sample_count

    with connection(db_path) as db:
        pts = load_points(db)
        samples = sample_count(db)
        facets = available(db)
    tree = None
    if pts is not None and len(pts):
        from sklearn.neighbors import KDTree

        tree = KDTree(pts.xy)
    return {
        "points": pts if pts is not None and len(pts) else None,
        "tree": tree,
        "facets": facets,
        "samples": samples,
    }


def colour_codes(db_path: Path, name: str, ids: np.ndarray, *, progress, partial, cancel):
    from backend.datamap.colour import facet_codes

    with connection(db_path) as db:
        return facet_codes(db, name, ids)


def compute_map(db_path: Path, method: str, recompute: bool, *, progress, partial, cancel) -> dict:
    from backend.datamap.build import MapCancelled, build_map
    from deepones_gui.concurrent import Cancelled

    with connection(db_path) as db:
        try:
            return build_map(db, method, recompute=recompute, progress=progress, cancel=lambda: bool(cancel))
        except MapCancelled as exc:
            raise Cancelled() from exc


def matching_ids(db_path: Path, flt: SampleFilter, *, progress, partial, cancel) -> np.ndarray:
    from backend.datamap.select import filter_ids

    with connection(db_path) as db:
        return filter_ids(db, flt)


def near_duplicates(db_path: Path, sample_id: int, ids, xy, tree, *, progress, partial, cancel) -> list[int]:
    from backend.datamap.neighbours import near_duplicates_of

    with connection(db_path) as db:
        return near_duplicates_of(db, sample_id, ids, xy, tree=tree)
