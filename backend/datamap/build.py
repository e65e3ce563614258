"""The map job: embed what is missing, fit a layout (first time / Recompute) or place only the new
samples into the existing one (UMAP ``transform``), cluster, name, save.

Resumable: vectors are cached batch by batch (:mod:`.vectors`), so a cancelled job restarts where
it stopped; a layout is only marked ready (and the old one dropped) once all its points are saved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from backend.datamap import clusters as clustering
from backend.datamap import points as store
from backend.datamap.layout import ENGINES, LayoutCancelled, run_child
from backend.datamap.vectors import MapError, Progress, check_method, embed_missing, load_vectors, map_dir

if TYPE_CHECKING:
    import sqlite_utils

FIT_MAX = 100_000  # UMAP is fitted on at most this many points; the rest are placed with transform


class MapCancelled(Exception):
    """The job was cancelled; what was computed so far (vectors) is kept for the next run."""


def _stage(progress: Progress | None, start: float, span: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f, text: progress(start + span * max(0.0, min(1.0, f)), text)


def build_map(
    db: sqlite_utils.Database,
    method: str = "tfidf",
    *,
    engine: str = "umap",
    recompute: bool = False,
    fit_max: int = FIT_MAX,
    params: dict | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    gguf_embed: Callable[[list[str]], np.ndarray] | None = None,
) -> dict:
    """Compute or update the map; returns a summary (samples, layout, clusters, placed_new, recomputed).

    A fresh layout is fitted when there is none, when ``recompute``, or when the method or engine
    changed; otherwise only samples not on the map yet are embedded and placed.
    """
    started = time.perf_counter()
    check_method(method)
    if engine not in ENGINES:
        raise MapError(f"unknown layout engine {engine!r} (use {' or '.join(ENGINES)})")
    stopped = cancel or (lambda: False)
    report = embed_missing(
        db, method, progress=_stage(progress, 0.0, 0.4), cancel=stopped, gguf_embed=gguf_embed
    )
    if report["cancelled"]:
        raise MapCancelled()
    ids, vectors = load_vectors(db, method)
    if not len(ids):
        raise MapError("no sample could be embedded")
    layout = store.latest_layout(db)
    fresh = (
        recompute
        or layout is None
        or layout["state"] != "ready"
        or layout["method"] != method
        or layout["engine"] != engine
        or not layout["model_file"]
    )
    try:
        if fresh:
            summary = _fit(db, method, engine, ids, vectors, fit_max, params or {}, progress, stopped)
        else:
            summary = _extend(db, layout, ids, vectors, progress, stopped)
    except LayoutCancelled as exc:
        raise MapCancelled() from exc
    summary.update(
        embedded=report["embedded"],
        seconds=round(time.perf_counter() - started, 2),
        method=method,
        engine=engine,
    )
    if progress:
        progress(1.0, f"map ready: {summary['samples']:,} samples")
    return summary


def _fit(
    db,
    method: str,
    engine: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    fit_max: int,
    params: dict,
    progress: Progress | None,
    cancel: Callable[[], bool],
) -> dict:
    params = {"engine": engine, "fit_max": fit_max, **params}
    version = store.create_layout(db, method, engine, min(len(ids), fit_max), params)
    model_file = map_dir(db) / f"layout-{version}.pkl"
    xy = run_child(
        "fit", vectors, params, keep_model=model_file, progress=_stage(progress, 0.4, 0.45), cancel=cancel
    )
    if progress:
        progress(0.86, "finding clusters")
    labels = clustering.find_clusters(xy)
    named = clustering.name_clusters(db, ids, labels)
    if progress:
        progress(0.93, f"saving {len(ids):,} positions")
    store.save_points(db, version, ids, xy, labels)
    store.finish_layout(db, version, model_file, named)
    return {"samples": len(ids), "layout": version, "clusters": named, "placed_new": 0, "recomputed": True}


def _extend(
    db,
    layout: dict,
    ids: np.ndarray,
    vectors: np.ndarray,
    progress: Progress | None,
    cancel: Callable[[], bool],
) -> dict:
    version = layout["version"]
    on_map = store.placed_ids(db, version)
    new = ~np.isin(ids, on_map, assume_unique=True)
    n_new = int(new.sum())
    if n_new:
        xy = run_child(
            "place",
            vectors[new],
            {"model_file": layout["model_file"]},
            progress=_stage(progress, 0.4, 0.45),
            cancel=cancel,
        )
        current = store.load_points(db, version)
        labels = clustering.assign_nearest(current.xy, current.cluster, xy)
        store.save_points(db, version, ids[new], xy, labels)
    current = store.load_points(db, version)
    named = clustering.recount(layout["clusters"], current.cluster)
    store.update_clusters(db, version, named)
    return {
        "samples": len(current),
        "layout": version,
        "clusters": named,
        "placed_new": n_new,
        "recomputed": False,
    }
