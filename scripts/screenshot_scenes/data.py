"""Data's scenes: review progress on the demo set with an MCQ open; a tool-call conversation; the map.

Curation is written through ``backend.datasets`` as another process (the CLI) would; the page picks
it up through its watch on the store, as it does for any change made elsewhere.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_mcq: list[int] = []


def prepare(page) -> None:
    """Some review progress and a note on an MCQ, which is then selected."""
    from backend.datasets import curation, query
    from backend.store import connection

    with connection(page.ctx.db_path) as db:   # a connection of its own: the page sees a change made elsewhere
        rows = query.first_ids(db, 100_000)
        ids = [r[0] for r in rows]
        curation.set_status(db, ids[0:220:3], "accepted")
        curation.set_status(db, ids[1:220:11], "rejected")
        curation.set_status(db, ids[2:220:13], "needs-fix")
        curation.add_tag(db, ids[0:220:9], "good-example")
        mcq = next((sid for sid, kind in rows if kind == "mcq"), ids[0])
        curation.edit_field(db, mcq, "note", "Distractors B and D are too easy; keep for now")
    _mcq[:] = [mcq]


def _reviews_counted(page) -> bool:
    status = page.facets.groups["status"]
    return any(status.child(i).text(0) == "accepted" and status.child(i).text(1) not in ("0", "…", "")
               for i in range(status.childCount()))


def ready(page) -> bool:
    if not page.ready() or not _mcq or not _reviews_counted(page):   # the watch reloaded rows and stats
        return False
    if page.session.detail_sample_id != _mcq[0]:
        page.select_sample(_mcq[0])
        return False
    return page.detail.note.text().startswith("Distractors")


def tools(window, ctx, out: Path, settle) -> Path:
    """The Data workspace showing a tool-call conversation (the tools/preference demo file)."""
    from backend.datasets.importer import import_paths
    from backend.datasets.indexing import index_pending
    from backend.store import connection
    from deepones_gui.concurrent import wait_for_background_tasks

    page = window.show_workspace("data")
    with connection(ctx.db_path) as db:
        import_paths(db, [ROOT / "resources" / "demo" / "tools_preference_demo.jsonl"], dataset="tools demo")
        index_pending(db)
    settle(1500)
    page.facets.set_checked("trait", ("has tools",))
    settle(800)
    wait_for_background_tasks(2000)
    page.table.selectRow(0)
    settle(500)
    target = out / "data-tools.png"
    window.grab().save(str(target))
    return target


def data_map(window, ctx, out: Path, settle) -> list[Path]:
    """The Data map: 20,000 generated samples in 8 topics plus the demo set, laid out with UMAP (a
    minute on 2 cores), zoomed out (density image, a cluster selected) and zoomed in (points, hover)."""
    from backend.datamap.build import build_map
    from backend.datasets.importer import import_paths
    from backend.datasets.indexing import index_pending
    from backend.store import connection
    from deepones_gui.concurrent import wait_for_background_tasks
    from tests.datamap.corpus import write_corpus

    page = window.show_workspace("data")
    corpus = Path(tempfile.mkdtemp(prefix="deepones-map-")) / "topics.jsonl"
    write_corpus(corpus, 20_000, seed=3)
    with connection(ctx.db_path) as db:
        import_paths(db, [corpus], dataset="topics")
        index_pending(db)
        build_map(db)
    page.views.setCurrentIndex(1)
    panel = page.map_panel
    panel.reload()
    for _ in range(120):
        settle(250)
        wait_for_background_tasks(100)
        if panel.ready():
            break
    panel.canvas.fit()
    settle(300)
    panel.cluster_list.setCurrentRow(1)
    panel.cluster_list.itemClicked.emit(panel.cluster_list.item(1))   # as a click on it does
    settle(800)
    panel.canvas.wait_for_density()
    settle(300)
    shots = [out / "data-map.png"]
    window.grab().save(str(shots[0]))
    # Zoomed in on the selected cluster: real points, and the hover line under the map.
    sel = panel.points.rows_of(panel.selected_ids())
    lo, hi = panel.points.xy[sel].min(axis=0), panel.points.xy[sel].max(axis=0)
    panel.canvas.vb.setRange(xRange=(float(lo[0]), float(hi[0])), yRange=(float(lo[1]), float(hi[1])), padding=0.3)
    settle(500)
    sid = int(panel.points.ids[int(sel[len(sel) // 2])])
    panel.canvas.hovered.emit(sid)     # as the pointer over that point does
    panel.sampleClicked.emit(sid)
    settle(500)
    shots.append(out / "data-map-points.png")
    window.grab().save(str(shots[1]))
    return shots
