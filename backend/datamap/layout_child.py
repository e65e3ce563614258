"""The 2-D layout, run as a child process: ``python -m backend.datamap.layout_child fit|place WORKDIR``.

UMAP (numba, pynndescent) is native-heavy and minutes long at a million points: in a child it can
neither take the window down nor hold the GIL, and Cancel is a kill. It imports nothing from the
app. Protocol: WORKDIR holds ``vectors.npy`` (float32, n x d) and ``params.json``; the child writes
``xy.npy`` (float32, n x 2) and, for ``fit``, ``model.pkl`` (what ``place`` needs to put new points
into the same layout); progress goes to stdout as ``progress FRACTION TEXT`` lines.

``fit`` with more than ``fit_max`` rows fits UMAP on a random sample of ``fit_max`` of them and
places the rest with ``transform`` (on 2 cores a full UMAP fit of 1M points takes tens of minutes;
the sample's layout is the map, the rest land where their neighbours are). The bench's bare script
does the same, so the comparison is like for like.

Engines: ``umap`` (the map) and ``pca`` (the first two principal components: instant, no numba;
a quick preview and what the fast test tier uses).
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

PLACE_BATCH = 50_000


def say(fraction: float, text: str) -> None:
    print(f"progress {fraction:.4f} {text}", flush=True)


class PCAModel:
    """Projection on the first two principal components (kept to place later points the same way)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.mean = vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(vectors[:200_000] - self.mean, full_matrices=False)
        self.components = vt[:2].astype(np.float32)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        return ((vectors - self.mean) @ self.components.T).astype(np.float32)


def _place(model, vectors: np.ndarray, start: float, span: float) -> np.ndarray:
    out = np.empty((len(vectors), 2), dtype=np.float32)
    for i in range(0, len(vectors), PLACE_BATCH):
        say(start + span * i / max(1, len(vectors)), f"placing {i:,} of {len(vectors):,} points")
        out[i : i + PLACE_BATCH] = model.transform(vectors[i : i + PLACE_BATCH])
    return out


def fit(workdir: Path, params: dict) -> None:
    vectors = np.load(workdir / "vectors.npy")
    n = len(vectors)
    fit_max = int(params.get("fit_max", 100_000))
    seed = int(params.get("seed", 0))
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, fit_max, replace=False)) if n > fit_max else np.arange(n)
    say(0.02, f"fitting the layout on {len(sample):,} points")
    if params.get("engine") == "pca":
        model = PCAModel(vectors[sample])
        fitted = model.transform(vectors[sample])
    else:
        import umap

        model = umap.UMAP(
            n_neighbors=int(params.get("n_neighbors", 15)),
            min_dist=float(params.get("min_dist", 0.05)),
            metric="euclidean",
            random_state=seed if params.get("deterministic") else None,
            low_memory=True,
            n_jobs=int(params.get("n_jobs", -1)),
            verbose=False,
        )
        fitted = model.fit_transform(vectors[sample]).astype(np.float32)
    xy = np.empty((n, 2), dtype=np.float32)
    xy[sample] = fitted
    if len(sample) < n:
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        xy[rest] = _place(model, vectors[rest], 0.6, 0.38)
    with open(workdir / "model.pkl.tmp", "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    (workdir / "model.pkl.tmp").replace(workdir / "model.pkl")
    np.save(workdir / "xy.npy", xy)
    say(1.0, "layout done")


def place(workdir: Path, params: dict) -> None:
    with open(params["model_file"], "rb") as fh:
        model = pickle.load(fh)
    vectors = np.load(workdir / "vectors.npy")
    np.save(workdir / "xy.npy", _place(model, vectors, 0.0, 1.0))
    say(1.0, "placed")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("fit", "place"):
        print("usage: layout_child fit|place WORKDIR", file=sys.stderr)
        return 2
    workdir = Path(argv[1])
    params = json.loads((workdir / "params.json").read_text())
    try:
        (fit if argv[0] == "fit" else place)(workdir, params)
    except MemoryError:
        print("not enough memory for the layout (try a smaller fit sample)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
