"""The map at size (slow tier): UMAP over the demo set plus 50,000 generated samples in 8 known
groups separates the groups and names their clusters from their own words; 1,000 more samples are
placed into the existing layout (no refit) next to their group. And the GGUF path: the embedded
SmolLM2 embeds through the model worker (model tier)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from tests.datamap.corpus import GROUPS, group_of, write_corpus

pytestmark = pytest.mark.slow


def _neighbour_agreement(
    xy: np.ndarray,
    labels: np.ndarray,
    query_rows: np.ndarray,
    k: int = 10,
    ref_rows: np.ndarray | None = None,
) -> np.ndarray:
    """Per query point: the share of its k nearest points on the layout that carry its own label."""
    from sklearn.neighbors import KDTree

    ref = np.arange(len(xy)) if ref_rows is None else ref_rows
    tree = KDTree(xy[ref])
    _, near = tree.query(xy[query_rows], k=k + (1 if ref_rows is None else 0))
    if ref_rows is None:
        near = near[:, 1:]  # itself
    return (labels[ref][near] == labels[query_rows][:, None]).mean(axis=1)


def _words(name: str) -> set[str]:
    return set(re.split(r"\s*·\s*", name))


def test_umap_separates_known_groups_names_clusters_and_places_1000_new(store, tmp_path):
    from backend.datamap.build import build_map
    from backend.datamap.points import load_points
    from backend.datasets.demo import ensure_demo
    from backend.datasets.importer import import_paths

    ensure_demo(store)
    path = tmp_path / "groups.jsonl"
    write_corpus(path, 50_000, seed=1)
    import_paths(store, [path], dataset="groups")
    started = time.perf_counter()
    first = build_map(store)
    fit_s = time.perf_counter() - started
    assert first["recomputed"] and first["samples"] == 50_257
    pts = load_points(store)
    groups = group_of(store, pts.ids.tolist())
    labels = np.array([groups[int(i)] or "demo" for i in pts.ids], dtype=object)
    rng = np.random.default_rng(0)
    for name in GROUPS:
        rows = rng.choice(np.flatnonzero(labels == name), 400, replace=False)
        agreement = _neighbour_agreement(pts.xy, labels, rows).mean()
        assert agreement >= 0.85, f"group {name}: only {agreement:.0%} of its neighbours are its own"

    # Clusters dominated by one group are named from that group's vocabulary.
    named = 0
    for c in pts.clusters:
        members = labels[pts.cluster == c["id"]]
        values, counts = np.unique(members, return_counts=True)
        top = values[np.argmax(counts)]
        if top in GROUPS and counts.max() >= 0.9 * len(members):
            assert _words(c["name"]) & set(GROUPS[top]), f"cluster {c['name']!r} of group {top}"
            named += 1
    assert named >= len(GROUPS)

    more = tmp_path / "more.jsonl"
    write_corpus(more, 1000, seed=77)
    import_paths(store, [more], dataset="more")
    started = time.perf_counter()
    update = build_map(store)
    update_s = time.perf_counter() - started
    assert not update["recomputed"] and update["layout"] == first["layout"] and update["placed_new"] == 1000
    assert update_s < fit_s / 2, (update_s, fit_s)
    after = load_points(store)
    groups = group_of(store, after.ids.tolist())
    labels = np.array([groups[int(i)] or "demo" for i in after.ids], dtype=object)
    new_rows = np.flatnonzero(~np.isin(after.ids, pts.ids))
    old_rows = np.flatnonzero(np.isin(after.ids, pts.ids))
    assert len(new_rows) == 1000
    near_own = _neighbour_agreement(after.xy, labels, new_rows, ref_rows=old_rows)
    assert near_own.mean() >= 0.85, (
        f"new samples: {near_own.mean():.0%} of their neighbours share their group"
    )


def test_gguf_embeddings_through_the_model_worker(store, tmp_path, smollm2):
    from backend.datamap.build import build_map
    from backend.datamap.vectors import embed_missing, load_vectors
    from backend.datasets.importer import import_paths

    path = tmp_path / "few.jsonl"
    write_corpus(path, 16, seed=5, groups=("vision", "audio"))
    import_paths(store, [path], dataset="few")
    report = embed_missing(store, "gguf:embedded")
    assert report == {"embedded": 16, "cached": 0, "cancelled": False}
    ids, vectors = load_vectors(store, "gguf:embedded")
    assert vectors.shape[0] == 16 and vectors.shape[1] >= 64 and np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    assert len({v.tobytes() for v in vectors}) == 16
    summary = build_map(store, "gguf:embedded", engine="pca")
    assert summary["samples"] == 16 and summary["embedded"] == 0  # cached by the call above
