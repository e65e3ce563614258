"""Embeddings for the map, cached per sample and content hash so new samples add only their rows.

Two methods:

* ``tfidf`` (default, offline, no model): TF-IDF over question and answer reduced to
  :data:`SVD_DIM` dimensions with truncated SVD. The space (vectoriser + SVD) is fitted once on at
  most :data:`SPACE_FIT_MAX` samples (a random sample of a larger store) and pickled; every sample,
  including later ones, is then *transformed* into it.
* ``gguf:MODEL``: a GGUF model's embedding through the model worker (llama.cpp's embedding mode in
  the worker process, never in ours): see :mod:`backend.datamap.gguf_embed`.

The cache is a folder per method beside the store holding ``chunk-NNNNNN.npz`` files (ids, content
hashes, float32 vectors). Each batch is written as one chunk as soon as it is computed (written to a
temporary name, then renamed), so a cancelled or crashed job resumes where it stopped; a sample
whose text changed gets a new row in a later chunk (the last one wins). At 1M samples x 48 float32
that is ~190 MB of chunks, read back in about a second.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend.errors import UserError

if TYPE_CHECKING:
    import sqlite_utils

SVD_DIM = 48
SPACE_FIT_MAX = 100_000  # samples the TF-IDF vocabulary and the SVD are fitted on
BATCH = 20_000  # samples embedded (and saved as one chunk) at a time
GGUF_BATCH = 2_000  # smaller chunks for the (much slower) model embeddings
TEXT_CHARS = 2_000  # characters of question + answer that count (long answers repeat themselves)
ID_BATCH = 5_000  # ids per text query (one JSON array parameter)
SEED = 0

Progress = Callable[[float, str], None]


class MapError(UserError, ValueError):
    """Something the user can fix (no samples, an unknown method); ``str(exc)`` says what."""


def store_file(db: sqlite_utils.Database) -> Path:
    return Path(db.conn.execute("PRAGMA database_list").fetchone()[2])


def map_dir(db: sqlite_utils.Database) -> Path:
    """The folder beside the store that holds the vector chunks and the fitted models."""
    path = store_file(db)
    return path.parent / f"{path.stem}.datamap"


def method_slug(method: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", method)[:80]


def check_method(method: str) -> str:
    if method == "tfidf" or (method.startswith("gguf:") and len(method) > 5):
        return method
    raise MapError(f"unknown embedding method {method!r} (use tfidf or gguf:MODEL)")


def sample_text(instruction: str, input_: str, output: str) -> str:
    """What a sample is about, for its embedding: the question (with its input) and the answer."""
    return "\n".join(p for p in (instruction, input_, output) if p)[:TEXT_CHARS]


def current_hashes(db: sqlite_utils.Database) -> tuple[np.ndarray, np.ndarray]:
    """(ids, content hashes) of every sample, in id order (one scan over the table)."""
    rows = db.conn.execute("SELECT id, content_hash FROM samples ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    hashes = np.array([r[1] for r in rows], dtype="S32") if rows else np.empty(0, dtype="S32")
    return ids, hashes


def texts_for(db: sqlite_utils.Database, ids: np.ndarray) -> list[str]:
    """The embedding text of ``ids`` (in that order), read in batches with one JSON array parameter each."""
    import json

    out: dict[int, str] = {}
    for i in range(0, len(ids), ID_BATCH):
        chunk = json.dumps([int(x) for x in ids[i : i + ID_BATCH]])
        for sid, ins, inp, outp in db.conn.execute(
            "SELECT id, instruction, input, output FROM samples WHERE id IN (SELECT value FROM json_each(?))",
            (chunk,),
        ):
            out[sid] = sample_text(ins or "", inp or "", outp or "")
    return [out.get(int(i), "") for i in ids]


@dataclass
class VectorCache:
    """The chunk files of one method: what is cached, and appending a batch."""

    folder: Path

    def chunks(self) -> list[Path]:
        return sorted(self.folder.glob("chunk-*.npz")) if self.folder.exists() else []

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, hashes, vectors): the latest row per id, sorted by id."""
        parts = []
        for path in self.chunks():
            try:
                with np.load(path) as z:
                    parts.append((z["ids"], z["hashes"], z["vectors"]))
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)  # a torn chunk (disk full mid-write): recomputed next time
        if not parts:
            return np.empty(0, np.int64), np.empty(0, "S32"), np.empty((0, 0), np.float32)
        dims = {p[2].shape[1] for p in parts}
        if len(dims) > 1:  # a space refitted with another size: only the newest chunks count
            keep = parts[-1][2].shape[1]
            parts = [p for p in parts if p[2].shape[1] == keep]
        ids = np.concatenate([p[0] for p in parts])
        hashes = np.concatenate([p[1] for p in parts])
        vectors = np.concatenate([p[2] for p in parts])
        # Last occurrence wins: unique over the reversed arrays gives each id's latest row.
        rev_ids = ids[::-1]
        uniq, first = np.unique(rev_ids, return_index=True)
        pick = len(ids) - 1 - first
        return uniq, hashes[pick], vectors[pick]

    def append(self, ids: np.ndarray, hashes: np.ndarray, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = self.chunks()
        n = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
        final = self.folder / f"chunk-{n:06d}.npz"
        tmp = self.folder / f".chunk-{n:06d}.tmp.npz"
        np.savez(
            tmp, ids=ids.astype(np.int64), hashes=hashes.astype("S32"), vectors=vectors.astype(np.float32)
        )
        os.replace(tmp, final)

    def clear(self) -> None:
        for path in self.chunks():
            path.unlink(missing_ok=True)
        space = self.folder / "space.pkl"
        space.unlink(missing_ok=True)


def missing_rows(
    cached_ids: np.ndarray, cached_hashes: np.ndarray, ids: np.ndarray, hashes: np.ndarray
) -> np.ndarray:
    """Indexes into ``ids`` of samples with no cached vector for their current content."""
    if not len(cached_ids):
        return np.arange(len(ids))
    pos = np.searchsorted(cached_ids, ids)
    pos_c = np.minimum(pos, len(cached_ids) - 1)
    found = (cached_ids[pos_c] == ids) & (cached_hashes[pos_c] == hashes)
    return np.flatnonzero(~found)


# -- the TF-IDF + SVD space ----------------------------------------------------------------------
def fit_tfidf_space(texts: list[str], dim: int = SVD_DIM):
    """Vectoriser + SVD fitted on ``texts`` (the same two steps the bench's bare script runs)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(
        max_features=50_000,
        sublinear_tf=True,
        stop_words="english",
        min_df=2 if len(texts) > 1000 else 1,
        dtype=np.float32,
    )
    matrix = vectoriser.fit_transform(texts)
    dim = max(2, min(dim, matrix.shape[1] - 1, len(texts) - 1))
    svd = TruncatedSVD(n_components=dim, random_state=SEED, algorithm="randomized", n_iter=4)
    svd.fit(matrix)
    return vectoriser, svd


def tfidf_transform(space, texts: list[str]) -> np.ndarray:
    vectoriser, svd = space
    vectors = svd.transform(vectoriser.transform(texts)).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)  # cosine geometry: UMAP then runs on euclidean distances


def _space(db: sqlite_utils.Database, cache: VectorCache, ids: np.ndarray, progress: Progress | None):
    path = cache.folder / "space.pkl"
    if path.exists():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            cache.clear()  # unreadable: refit, and the vectors made in the old space go with it
    if progress:
        progress(0.0, f"fitting TF-IDF + SVD on {min(len(ids), SPACE_FIT_MAX):,} samples")
    rng = np.random.default_rng(SEED)
    fit_ids = np.sort(rng.choice(ids, SPACE_FIT_MAX, replace=False)) if len(ids) > SPACE_FIT_MAX else ids
    space = fit_tfidf_space(texts_for(db, fit_ids))
    cache.folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(space, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return space


def embed_missing(
    db: sqlite_utils.Database,
    method: str = "tfidf",
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    gguf_embed: Callable[[list[str]], np.ndarray] | None = None,
) -> dict:
    """Embed every sample without a cached vector for its current content; returns counts.

    ``cancel()`` is checked between batches: what was embedded so far stays cached.
    """
    check_method(method)
    cache = VectorCache(map_dir(db) / method_slug(method))
    ids, hashes = current_hashes(db)
    if not len(ids):
        raise MapError("the store has no samples to map (import some first)")
    cached_ids, cached_hashes, _ = cache.load()
    todo = missing_rows(cached_ids, cached_hashes, ids, hashes)
    if not len(todo):
        return {"embedded": 0, "cached": len(ids), "cancelled": False}
    if method == "tfidf":
        space = _space(db, cache, ids, progress)

        def embed(texts: list[str]) -> np.ndarray:
            return tfidf_transform(space, texts)

        batch = BATCH
    else:
        if gguf_embed is None:
            from backend.datamap.gguf_embed import embedder

            gguf_embed = embedder(method[5:])
        embed = gguf_embed
        batch = GGUF_BATCH
    done = 0
    for start in range(0, len(todo), batch):
        if cancel is not None and cancel():
            return {"embedded": done, "cached": len(ids) - len(todo), "cancelled": True}
        rows = todo[start : start + batch]
        if progress:
            progress(done / max(1, len(todo)), f"embedding {done:,} of {len(todo):,} samples ({method})")
        vectors = embed(texts_for(db, ids[rows]))
        cache.append(ids[rows], hashes[rows], vectors)
        done += len(rows)
    return {"embedded": done, "cached": len(ids) - len(todo), "cancelled": False}


def load_vectors(db: sqlite_utils.Database, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the current samples with a vector for their current content, by id."""
    cache = VectorCache(map_dir(db) / method_slug(method))
    cached_ids, cached_hashes, vectors = cache.load()
    ids, hashes = current_hashes(db)
    if not len(cached_ids) or not len(ids):
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    pos = np.minimum(np.searchsorted(cached_ids, ids), len(cached_ids) - 1)
    ok = (cached_ids[pos] == ids) & (cached_hashes[pos] == hashes)
    return ids[ok], vectors[pos[ok]]
