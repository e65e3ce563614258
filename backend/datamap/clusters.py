"""Clusters on the 2-D layout (HDBSCAN, scikit-learn), named by their own most distinctive words.

HDBSCAN runs on at most :data:`CLUSTER_FIT_MAX` points (a random sample; at 1M points the full
run is minutes); every other point, and every point placed later, takes the cluster of its
nearest clustered neighbour on the layout (a KD-tree query). Points HDBSCAN calls noise stay -1.
A name is the cluster's top TF-IDF terms against the whole sample ("conv · kernel · stride").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backend.datamap.vectors import texts_for

if TYPE_CHECKING:
    import sqlite_utils

CLUSTER_FIT_MAX = 20_000
NAME_DOCS = 300  # texts per cluster read for its name
NAME_TERMS = 3
SEED = 0


def find_clusters(xy: np.ndarray) -> np.ndarray:
    """A cluster label per point (int32, -1 = noise)."""
    from sklearn.cluster import HDBSCAN

    n = len(xy)
    if n < 10:
        return np.full(n, -1 if n else 0, dtype=np.int32)
    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(n, CLUSTER_FIT_MAX, replace=False)) if n > CLUSTER_FIT_MAX else np.arange(n)
    m = len(sample)
    hdb = HDBSCAN(
        min_cluster_size=max(8, m // 60),
        min_samples=max(5, m // 400),
        cluster_selection_method="eom",
        copy=True,
    )
    labels = hdb.fit_predict(xy[sample].astype(np.float64)).astype(np.int32)
    out = np.full(n, -1, dtype=np.int32)
    out[sample] = labels
    if m < n:
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        out[rest] = assign_nearest(xy[sample], labels, xy[rest])
    return out


def assign_nearest(known_xy: np.ndarray, known_labels: np.ndarray, new_xy: np.ndarray) -> np.ndarray:
    """Each new point takes the label of its nearest known, clustered point (noise stays out of it)."""
    from sklearn.neighbors import KDTree

    keep = known_labels >= 0
    if not len(new_xy) or not keep.any():
        return np.full(len(new_xy), -1, dtype=np.int32)
    tree = KDTree(known_xy[keep].astype(np.float64))
    _, nearest = tree.query(new_xy.astype(np.float64), k=1)
    return known_labels[keep][nearest[:, 0]].astype(np.int32)


def name_clusters(db: sqlite_utils.Database, ids: np.ndarray, labels: np.ndarray) -> list[dict]:
    """[{"id", "name", "size"}] largest first; names are each cluster's most distinctive terms."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    found = sorted(set(labels.tolist()) - {-1})
    if not found:
        return []
    rng = np.random.default_rng(SEED)
    picked_ids: list[np.ndarray] = []
    picked_lab: list[np.ndarray] = []
    for c in found:
        members = ids[labels == c]
        if len(members) > NAME_DOCS:
            members = rng.choice(members, NAME_DOCS, replace=False)
        picked_ids.append(members)
        picked_lab.append(np.full(len(members), c))
    doc_ids = np.concatenate(picked_ids)
    doc_lab = np.concatenate(picked_lab)
    texts = texts_for(db, doc_ids)
    vec = TfidfVectorizer(
        max_features=20_000,
        stop_words="english",
        sublinear_tf=True,
        token_pattern=r"(?u)\b[A-Za-z][A-Za-z0-9_-]{2,}\b",
    )
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # no usable words at all (e.g. only numbers)
        return [{"id": c, "name": f"cluster {c}", "size": int((labels == c).sum())} for c in found]
    terms = np.array(vec.get_feature_names_out())
    overall = np.asarray(matrix.mean(axis=0)).ravel()
    out = []
    for c in found:
        rows = doc_lab == c
        score = np.asarray(matrix[rows].mean(axis=0)).ravel() - overall
        # Distinctive and common inside: words a reader would name the group by.
        top = [terms[i] for i in np.argsort(-score)[:NAME_TERMS] if score[i] > 0]
        out.append(
            {"id": int(c), "name": " · ".join(top) or f"cluster {c}", "size": int((labels == c).sum())}
        )
    out.sort(key=lambda d: -d["size"])
    return out


def recount(clusters: list[dict], labels: np.ndarray) -> list[dict]:
    """The same clusters with sizes recounted (after new points were placed)."""
    counts = np.bincount(labels[labels >= 0], minlength=max([c["id"] for c in clusters], default=-1) + 1)
    return sorted(
        ({**c, "size": int(counts[c["id"]]) if c["id"] < len(counts) else 0} for c in clusters),
        key=lambda d: -d["size"],
    )
