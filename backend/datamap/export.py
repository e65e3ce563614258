"""Exports of the map: positions as CSV, a static PNG, and an offline HTML page for sharing.

The HTML page is one file that loads nothing: its script and style are inline, a Content-Security-
Policy forbids every fetch (``default-src 'none'``), and the data sits in a JSON block with ``<``,
``>`` and ``&`` escaped, so no sample text can close the block or become markup; the page shows
text only through ``textContent``.
"""

from __future__ import annotations

import csv
import json
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend.datamap.colour import cluster_codes, colours_for, facet_codes
from backend.datamap.density import bin_majority, rgba_image
from backend.datamap.points import MapPoints

if TYPE_CHECKING:
    import sqlite_utils

HTML_FACETS = ("kind", "category", "status", "dataset")
HTML_MAX_POINTS = 50_000
QUESTION_CHARS = 200
CSV_FACETS = ("dataset", "kind", "category", "status")


def write_csv(db: sqlite_utils.Database, pts: MapPoints, path: Path) -> int:
    """id,x,y,cluster,cluster_name,dataset,kind,category,status: one row per point."""
    names = {c["id"]: c["name"] for c in pts.clusters}
    rows = db.conn.execute("SELECT id, dataset, kind, category, status FROM samples ORDER BY id").fetchall()
    by_id = {r[0]: r[1:] for r in rows}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "x", "y", "cluster", "cluster_name", *CSV_FACETS])
        for sid, (x, y), c in zip(pts.ids.tolist(), pts.xy.tolist(), pts.cluster.tolist(), strict=True):
            out.writerow([sid, f"{x:.5f}", f"{y:.5f}", c, names.get(c, ""), *by_id.get(sid, ("",) * 4)])
    return len(pts)


def _bounds(xy: np.ndarray, pad: float = 0.03) -> tuple[tuple[float, float], tuple[float, float]]:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    return (float(lo[0] - pad * span[0]), float(hi[0] + pad * span[0])), (
        float(lo[1] - pad * span[1]),
        float(hi[1] + pad * span[1]),
    )


def png_bytes(rgba: np.ndarray) -> bytes:
    """A PNG file of an RGBA uint8 image (row 0 at the top)."""
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def write_png(
    db: sqlite_utils.Database,
    pts: MapPoints,
    path: Path,
    *,
    colour_by: str = "map cluster",
    width: int = 1600,
    height: int = 1000,
) -> None:
    """A static picture: the density image coloured by ``colour_by`` on white (legend in the HTML/CSV)."""
    codes, labels = _codes(db, pts, colour_by)
    xr, yr = _bounds(pts.xy)
    # Sparse maps get bigger cells, so a few hundred points are dots, not single pixels.
    cell = int(np.clip(np.sqrt(width * height / max(1, len(pts))) / 4, 1, 6))
    counts, majority = bin_majority(pts.xy, codes, len(labels), xr, yr, width // cell, height // cell)
    image = rgba_image(counts, majority, colours_for(labels), background=(255, 255, 255, 255))
    image = np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)
    Path(path).write_bytes(png_bytes(image[::-1].copy()))  # y grows upwards on the map, downwards in a PNG


def _codes(db, pts: MapPoints, name: str) -> tuple[np.ndarray, list[str]]:
    if name == "map cluster":
        return cluster_codes(pts.cluster, pts.clusters)
    return facet_codes(db, name, pts.ids)


def _json_for_script(value) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' survives as itself."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def html_page(
    db: sqlite_utils.Database,
    pts: MapPoints,
    *,
    max_points: int = HTML_MAX_POINTS,
    title: str = "DeepOnes data map",
) -> str:
    rows = np.arange(len(pts))
    if len(rows) > max_points:  # a shareable file, not a 1 GB one: an even sample, said on the page
        rows = np.sort(np.random.default_rng(0).choice(rows, max_points, replace=False))
    ids = pts.ids[rows]
    texts = dict(
        db.conn.execute(
            "SELECT id, substr(instruction, 1, ?) FROM samples WHERE id IN (SELECT value FROM json_each(?))",
            (QUESTION_CHARS, json.dumps(ids.tolist())),
        ).fetchall()
    )
    facets = {}
    for name in ("map cluster", *HTML_FACETS):
        codes, labels = _codes(db, pts, name)
        facets[name] = {
            "codes": codes[rows].tolist(),
            "labels": labels,
            "colours": ["#{:02x}{:02x}{:02x}".format(*c) for c in colours_for(labels).tolist()],
        }
    data = {
        "title": title,
        "total": len(pts),
        "shown": len(rows),
        "ids": ids.tolist(),
        "x": [round(v, 4) for v in pts.xy[rows, 0].tolist()],
        "y": [round(v, 4) for v in pts.xy[rows, 1].tolist()],
        "text": [texts.get(i, "") for i in ids.tolist()],
        "facets": facets,
        "clusters": [{"name": c["name"], "size": c["size"]} for c in pts.clusters],
    }
    return _TEMPLATE.replace("__DATA__", _json_for_script(data)).replace("__TITLE__", _escape(title))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def write_html(db: sqlite_utils.Database, pts: MapPoints, path: Path, **kw) -> None:
    Path(path).write_text(html_page(db, pts, **kw), encoding="utf-8")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>__TITLE__</title>
<style>
body{margin:0;font:13px system-ui,sans-serif;background:#1e1f22;color:#ddd;display:flex;height:100vh}
#side{width:260px;padding:10px;overflow:auto;border-right:1px solid #333}
#side h1{font-size:15px;margin:0 0 6px}
#legend div{cursor:pointer;padding:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#legend div.off{opacity:.35}
#legend span{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
#wrap{flex:1;position:relative}
canvas{width:100%;height:100%;display:block;cursor:crosshair}
#tip{position:absolute;pointer-events:none;background:#2b2d31;border:1px solid #555;padding:6px;max-width:360px;
display:none;white-space:pre-wrap}
</style></head>
<body><div id="side"><h1 id="title"></h1><div id="count"></div>
<p><label>Colour by <select id="facet"></select></label></p><div id="legend"></div></div>
<div id="wrap"><canvas id="map"></canvas><div id="tip"></div></div>
<script id="map-data" type="application/json">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("map-data").textContent);
const canvas = document.getElementById("map"), ctx = canvas.getContext("2d"), tip = document.getElementById("tip");
document.getElementById("title").textContent = D.title;
document.getElementById("count").textContent = D.shown.toLocaleString() + " of " + D.total.toLocaleString() + " samples";
const sel = document.getElementById("facet");
for (const name of Object.keys(D.facets)) { const o = document.createElement("option"); o.textContent = name; sel.appendChild(o); }
let hidden = new Set(), view = null;
const xs = D.x, ys = D.y, n = xs.length;
let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
for (let i = 0; i < n; i++) { minX = Math.min(minX, xs[i]); maxX = Math.max(maxX, xs[i]); minY = Math.min(minY, ys[i]); maxY = Math.max(maxY, ys[i]); }
function fit() { const w = canvas.clientWidth, h = canvas.clientHeight, s = Math.min(w / (maxX - minX || 1), h / (maxY - minY || 1)) * 0.92;
  view = {s: s, ox: w / 2 - s * (minX + maxX) / 2, oy: h / 2 + s * (minY + maxY) / 2}; }
function legend() { const f = D.facets[sel.value], box = document.getElementById("legend"); box.textContent = "";
  f.labels.forEach((label, i) => { const d = document.createElement("div"), sw = document.createElement("span");
    sw.style.background = f.colours[i]; d.appendChild(sw); d.appendChild(document.createTextNode(label));
    if (hidden.has(i)) d.className = "off";
    d.onclick = () => { hidden.has(i) ? hidden.delete(i) : hidden.add(i); legend(); draw(); }; box.appendChild(d); }); }
function draw() { const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr; ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, w, h);
  if (!view) fit(); const f = D.facets[sel.value];
  for (let i = 0; i < n; i++) { const c = f.codes[i]; if (hidden.has(c)) continue;
    ctx.fillStyle = f.colours[c]; ctx.fillRect(view.ox + xs[i] * view.s - 1.5, view.oy - ys[i] * view.s - 1.5, 3, 3); } }
function nearest(mx, my) { let best = -1, bd = 64; const f = D.facets[sel.value];
  for (let i = 0; i < n; i++) { if (hidden.has(f.codes[i])) continue; const dx = view.ox + xs[i] * view.s - mx, dy = view.oy - ys[i] * view.s - my, d = dx * dx + dy * dy;
    if (d < bd) { bd = d; best = i; } } return best; }
let drag = null;
canvas.onmousedown = e => { drag = {x: e.offsetX, y: e.offsetY, ox: view.ox, oy: view.oy}; };
window.onmouseup = () => { drag = null; };
canvas.onmousemove = e => { if (drag) { view.ox = drag.ox + e.offsetX - drag.x; view.oy = drag.oy + e.offsetY - drag.y; draw(); return; }
  const i = nearest(e.offsetX, e.offsetY);
  if (i < 0) { tip.style.display = "none"; return; }
  tip.textContent = "#" + D.ids[i] + "  " + D.text[i]; tip.style.left = (e.offsetX + 12) + "px"; tip.style.top = (e.offsetY + 12) + "px"; tip.style.display = "block"; };
canvas.onwheel = e => { e.preventDefault(); const k = e.deltaY < 0 ? 1.2 : 1 / 1.2;
  view.ox = e.offsetX - (e.offsetX - view.ox) * k; view.oy = e.offsetY - (e.offsetY - view.oy) * k; view.s *= k; draw(); };
sel.onchange = () => { hidden = new Set(); legend(); draw(); };
window.onresize = () => { view = null; draw(); };
legend(); draw();
</script></body></html>
"""
