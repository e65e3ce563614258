"""Layouts and positions in the store (tables map_layouts and map_points, migration m015_data_map)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend.store import transaction

if TYPE_CHECKING:
    import sqlite_utils

INSERT_BATCH = 50_000


@dataclass
class MapPoints:
    """One layout's points, sorted by sample id (parallel arrays: what the view draws and selects on)."""

    version: int
    ids: np.ndarray  # int64
    xy: np.ndarray  # float32, n x 2
    cluster: np.ndarray  # int32, -1 = none
    clusters: list[dict]  # [{"id", "name", "size"}]

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, sample_ids) -> np.ndarray:
        """Row indexes of ``sample_ids`` that are on the map (others are dropped)."""
        wanted = np.unique(np.asarray(sample_ids, dtype=np.int64).ravel())  # 1M ids: numpy, not a set
        if not len(wanted) or not len(self.ids):
            return np.empty(0, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return pos[self.ids[pos] == wanted]


def latest_layout(db: sqlite_utils.Database) -> dict | None:
    row = db.conn.execute(
        "SELECT version, method, engine, state, fitted_on, placed, model_file, params, clusters,"
        " created_at, updated_at FROM map_layouts ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    keys = (
        "version",
        "method",
        "engine",
        "state",
        "fitted_on",
        "placed",
        "model_file",
        "params",
        "clusters",
        "created_at",
        "updated_at",
    )
    layout = dict(zip(keys, row, strict=True))
    layout["params"] = json.loads(layout["params"])
    layout["clusters"] = json.loads(layout["clusters"])
    return layout


def create_layout(db: sqlite_utils.Database, method: str, engine: str, fitted_on: int, params: dict) -> int:
    now = time.time()
    with transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO map_layouts (method, engine, state, fitted_on, params, created_at, updated_at)"
            " VALUES (?, ?, 'building', ?, ?, ?, ?)",
            (method, engine, fitted_on, json.dumps(params), now, now),
        )
        return int(cur.lastrowid)


def finish_layout(
    db: sqlite_utils.Database, version: int, model_file: Path | None, clusters: list[dict]
) -> None:
    """Mark ``version`` ready and drop older layouts (their points and fitted models)."""
    with transaction(db) as conn:
        old = conn.execute(
            "SELECT version, model_file FROM map_layouts WHERE version != ?", (version,)
        ).fetchall()
        placed = conn.execute("SELECT count(*) FROM map_points WHERE layout=?", (version,)).fetchone()[0]
        conn.execute(
            "UPDATE map_layouts SET state='ready', model_file=?, clusters=?, placed=?, updated_at=?"
            " WHERE version=?",
            (str(model_file) if model_file else None, json.dumps(clusters), placed, time.time(), version),
        )
        conn.execute("DELETE FROM map_points WHERE layout != ?", (version,))
        conn.execute("DELETE FROM map_layouts WHERE version != ?", (version,))
    for _v, path in old:
        if path and path != str(model_file):
            Path(path).unlink(missing_ok=True)


def update_clusters(db: sqlite_utils.Database, version: int, clusters: list[dict]) -> None:
    with transaction(db) as conn:
        placed = conn.execute("SELECT count(*) FROM map_points WHERE layout=?", (version,)).fetchone()[0]
        conn.execute(
            "UPDATE map_layouts SET clusters=?, placed=?, updated_at=? WHERE version=?",
            (json.dumps(clusters), placed, time.time(), version),
        )


def save_points(
    db: sqlite_utils.Database, version: int, ids: np.ndarray, xy: np.ndarray, cluster: np.ndarray
) -> None:
    """Insert or replace positions (batched transactions: a 1M-row layout does not hold one lock for long)."""
    for i in range(0, len(ids), INSERT_BATCH):
        rows = zip(
            ids[i : i + INSERT_BATCH].tolist(),
            xy[i : i + INSERT_BATCH, 0].tolist(),
            xy[i : i + INSERT_BATCH, 1].tolist(),
            cluster[i : i + INSERT_BATCH].tolist(),
            strict=True,
        )
        with transaction(db) as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO map_points (layout, sample_id, x, y, cluster)"
                f" VALUES ({version}, ?, ?, ?, ?)",
                rows,
            )


def placed_ids(db: sqlite_utils.Database, version: int) -> np.ndarray:
    rows = db.conn.execute("SELECT sample_id FROM map_points WHERE layout=? ORDER BY sample_id", (version,))
    return np.fromiter((r[0] for r in rows), dtype=np.int64)


def load_points(db: sqlite_utils.Database, version: int | None = None) -> MapPoints | None:
    """The saved map (the latest layout unless ``version``), without samples deleted since; None if none."""
    layout = latest_layout(db)
    if layout is None or (version is not None and layout["version"] != version):
        return None
    rows = db.conn.execute(
        "SELECT p.sample_id, p.x, p.y, p.cluster FROM map_points p JOIN samples s ON s.id = p.sample_id"
        " WHERE p.layout=? ORDER BY p.sample_id",
        (layout["version"],),
    ).fetchall()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return MapPoints(
        version=layout["version"],
        ids=arr[:, 0].astype(np.int64),
        xy=arr[:, 1:3].astype(np.float32),
        cluster=arr[:, 3].astype(np.int32),
        clusters=layout["clusters"],
    )


def question_preview(db: sqlite_utils.Database, sample_id: int, chars: int = 240) -> str:
    """The start of a sample's question on one line (the map's hover line)."""
    row = db.conn.execute(
        "SELECT substr(instruction, 1, ?) FROM samples WHERE id=?", (chars, sample_id)
    ).fetchone()
    return " ".join((row[0] if row else "").split())


def sample_count(db: sqlite_utils.Database) -> int:
    return db.conn.execute("SELECT count(*) FROM samples").fetchone()[0]
