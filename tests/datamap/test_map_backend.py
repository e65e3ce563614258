"""The map's backend on a real store: cached embeddings (resume after Cancel, only new rows), layouts
placed incrementally, selection geometry, the table filter over a lasso-sized id set, and the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.datamap.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[2]


def _inside_reference(x: float, y: float, poly: list[tuple[float, float]]) -> bool:
    """Textbook even-odd test, one point at a time (the reference for the vectorised one)."""
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        (xi, yi), (xj, yj) = poly[i], poly[j]
        if (yi > y) != (yj > y) and x < xi + (y - yi) * (xj - xi) / (yj - yi):
            inside = not inside
        j = i
    return inside


def test_lasso_matches_the_reference_and_100k_points_take_under_a_second():
    from backend.datamap.select import in_polygon, in_rect

    rng = np.random.default_rng(3)
    xy = rng.normal(size=(100_000, 2)).astype(np.float32)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 60))
    radius = rng.uniform(0.5, 2.0, 60)
    poly = list(zip((radius * np.cos(angles)).tolist(), (radius * np.sin(angles)).tolist(), strict=True))
    started = time.perf_counter()
    mask = in_polygon(xy, poly)
    took = time.perf_counter() - started
    assert took < 1.0, f"lasso of 100k points took {took:.2f} s"
    sample = rng.choice(len(xy), 2000, replace=False)
    expected = [_inside_reference(float(xy[i, 0]), float(xy[i, 1]), poly) for i in sample]
    assert mask[sample].tolist() == expected
    assert 0 < mask.sum() < len(xy)
    rect = in_rect(xy, 1, 1, -1, -1)
    assert rect.sum() == ((np.abs(xy) <= 1).all(axis=1)).sum()


def test_embeddings_resume_after_cancel_and_new_samples_add_only_their_rows(
    grouped_store, tmp_path, monkeypatch
):
    from backend.datamap import vectors
    from backend.datamap.build import MapCancelled, build_map
    from backend.datamap.points import load_points
    from backend.datasets.importer import import_paths

    db = grouped_store
    total = db.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    monkeypatch.setattr(vectors, "BATCH", 500)
    calls = []
    with pytest.raises(MapCancelled):  # cancelled after the first batch: that batch stays cached
        build_map(
            db,
            engine="pca",
            cancel=lambda: len(calls) > 0,
            progress=lambda f, text: calls.append(text) if text.startswith("embedding") else None,
        )
    cached_ids, _, vecs = vectors.VectorCache(vectors.map_dir(db) / "tfidf").load()
    assert len(cached_ids) == 500 and vecs.dtype == np.float32
    first = build_map(db, engine="pca")
    assert first["embedded"] == total - 500 and first["recomputed"] and first["samples"] == total
    names = [c["name"] for c in first["clusters"]]
    assert len(names) >= 3 and all(n and not n.startswith("cluster ") for n in names)

    path = tmp_path / "more.jsonl"
    write_corpus(path, 100, seed=9)
    import_paths(db, [path], dataset="more")
    again = build_map(db, engine="pca")
    assert again["layout"] == first["layout"] and not again["recomputed"]
    assert again["embedded"] == 100 and again["placed_new"] == 100 and again["samples"] == total + 100
    pts = load_points(db)
    assert len(pts) == total + 100 and sum(c["size"] for c in again["clusters"]) == (pts.cluster >= 0).sum()
    # An edit changes the content hash: only that sample is embedded again.
    sid = int(pts.ids[0])
    db.conn.execute("UPDATE samples SET content_hash='0123456789abcdef0123456789abcdef' WHERE id=?", (sid,))
    db.conn.commit()
    assert build_map(db, engine="pca")["embedded"] == 1


def test_a_filter_over_a_lasso_sized_id_set(store):
    from backend.datasets import query
    from backend.datasets.demo import ensure_demo

    ensure_demo(store)
    ids = tuple(range(1, 40_001))  # more ids than SQLite accepts as bound variables
    assert query.count(store, query.SampleFilter(ids=ids)) == 257
    assert len(query.page(store, query.SampleFilter(ids=ids, kinds=("mcq",)), limit=500)) == 60


def deepones(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepones_gui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DEEPONES_HOME": str(home)},
        timeout=120,
    )


def test_cli_map_json_positions_png_and_bad_input(grouped_store, deepones_home, tmp_path):
    out = deepones(
        "data",
        "map",
        "--engine",
        "pca",
        "--positions",
        str(tmp_path / "pos.csv"),
        "--export",
        str(tmp_path / "map.png"),
        "--json",
        home=deepones_home,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    total = grouped_store.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert result["samples"] == total and result["layout"] >= 1
    assert result["clusters"] and all(set(c) == {"name", "size"} for c in result["clusters"])
    with open(tmp_path / "pos.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == total
    assert {"id", "x", "y", "cluster", "dataset", "kind", "category", "status"} <= set(rows[0])
    assert {r["dataset"] for r in rows} == {"DeepData demo", "groups"}
    png = (tmp_path / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000

    bad = deepones("data", "map", "--export", str(tmp_path / "map.gif"), home=deepones_home)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "png or .html" in bad.stderr
    bad = deepones("data", "map", "--method", "word2vec", home=deepones_home)
    assert bad.returncode == 2 and "unknown embedding method" in bad.stderr and "Traceback" not in bad.stderr


def test_layout_child_cancel_kills_it_and_a_failure_is_one_line(tmp_path):
    from backend.datamap.layout import LayoutCancelled, run_child
    from backend.datamap.vectors import MapError

    vectors = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    started = time.perf_counter()
    with pytest.raises(LayoutCancelled):
        run_child("fit", vectors, {"engine": "umap"}, cancel=lambda: True)
    assert time.perf_counter() - started < 5  # killed, not waited for (a UMAP fit takes far longer)
    broken = tmp_path / "layout.pkl"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(MapError) as err:
        run_child("place", vectors, {"model_file": str(broken)})
    assert "layout process failed" in str(err.value) and "\n" not in str(err.value)
    xy = run_child("fit", vectors, {"engine": "pca"}, keep_model=tmp_path / "pca.pkl")
    assert xy.shape == (300, 2) and (tmp_path / "pca.pkl").stat().st_size > 0
    again = run_child("place", vectors[:10], {"model_file": str(tmp_path / "pca.pkl")})
    assert np.allclose(again, xy[:10], atol=1e-4)  # the saved model places points where the fit put them


def test_colour_facets_provenance_columns_plug_in_and_near_duplicates_from_the_map(store, tmp_path):
    from backend.datamap.build import build_map
    from backend.datamap.colour import available, facet_codes
    from backend.datamap.neighbours import near_duplicates_of
    from backend.datamap.points import load_points
    from backend.datasets import curation
    from backend.datasets.demo import ensure_demo
    from backend.datasets.importer import import_paths

    ensure_demo(store)
    base = (
        "How does a residual block with a squeeze and excitation gate change the features of a deep network"
    )
    answer = "It rescales the channels by learned gates after pooling them."
    records = [
        {"instruction": base + "?", "output": answer},
        {"instruction": base + " model?", "output": answer},
    ]
    path = tmp_path / "dupes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")
    import_paths(store, [path], dataset="dupes")
    build_map(store, engine="pca")
    pts = load_points(store)
    ids = pts.ids

    codes, labels = facet_codes(store, "kind", ids)
    assert labels[0] == "instruction" and (codes == 0).sum() == 173 and len(codes) == len(ids)
    codes, labels = facet_codes(store, "token length", ids)
    assert 3 <= len(labels) <= 8 and "–" in labels[0] and codes.max() == len(labels) - 1
    curation.add_tag(store, ids[:5].tolist(), "seen")
    codes, labels = facet_codes(store, "tag", ids)
    assert labels == ["(none)", "seen"] and (codes == 1).sum() == 5
    dupes = [int(r[0]) for r in store.conn.execute("SELECT id FROM samples WHERE dataset='dupes'")]
    codes, labels = facet_codes(store, "near-duplicate cluster", ids)
    assert len(set(codes[np.isin(ids, dupes)].tolist())) == 1 and codes[np.isin(ids, dupes)][0] > 0

    # A provenance column (as Data's provenance facets add) is offered and coloured by, no map change.
    assert "generator model" not in available(store)
    store.conn.execute("ALTER TABLE samples ADD COLUMN generator_model TEXT")
    store.conn.execute(
        "UPDATE samples SET generator_model = CASE WHEN id % 2 THEN 'gpt-4o' ELSE 'llama-3' END"
    )
    store.conn.commit()
    assert "generator model" in available(store)
    codes, labels = facet_codes(store, "generator model", ids)
    assert sorted(labels) == ["gpt-4o", "llama-3"]

    assert near_duplicates_of(store, dupes[0], ids, pts.xy) == sorted(dupes)
