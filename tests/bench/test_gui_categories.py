"""Bench > Data categories (Figure 6): the Data workspace's stats chart for a chosen kind, the same
numbers as `deepones data stats --kind K --json`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from deepones_gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def _store_counts(home: Path, kind: str) -> dict[str, dict[str, int]]:
    """Samples of ``kind`` per category and review status, counted straight from the store's table
    (no app code: a wrong count in the stats the chart and the CLI share would show here)."""
    with sqlite3.connect(home / "deepones.db") as conn:
        rows = conn.execute("SELECT coalesce(nullif(category, ''), '(none)'), status, count(*) FROM samples"
                            " WHERE kind = ? GROUP BY 1, 2", (kind,)).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for category, status, n in rows:
        counts.setdefault(category, {})[status] = n
    return counts


def _shown(panel) -> dict[str, tuple[int, int, dict[str, int]]]:
    """The numbers the table shows: category -> (samples, share %, {status: samples})."""
    from deepones_gui.workspaces.data.charts import STATUS_ORDER

    table, shown = panel.table, {}
    for r in range(table.rowCount()):
        samples, share = table.item(r, 1).text().split()
        review = {status: int(table.item(r, 2 + c).text().replace(",", "")) for c, status in enumerate(STATUS_ORDER)}
        shown[table.item(r, 0).text()] = (int(samples.replace(",", "")), int(share.strip("(%)")), review)
    return shown


def _deepones(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DEEPONES_HOME": str(home)}, timeout=300)


@pytest.mark.timeout(600)
def test_figure6_tab_shows_the_stats_of_the_chosen_kind(qtbot, app_context, deepones_home):
    imported = _deepones(deepones_home, "data", "import", str(ROOT / "resources" / "demo" / "deepdata_demo.jsonl"))
    assert imported.returncode == 0, imported.stderr
    cli = {kind: json.loads(_deepones(deepones_home, "data", "stats", "--kind", kind, "--json").stdout)
           for kind in ("mcq", "dlpd")}
    # The CLI half of Figure 6: one kind only, its categories counted.
    assert set(cli["mcq"]["by_kind"]) == {"mcq"} and cli["mcq"]["total"] == cli["mcq"]["by_kind"]["mcq"] > 0
    assert sum(cli["mcq"]["by_category"].values()) == cli["mcq"]["total"] and len(cli["mcq"]["by_category"]) > 1

    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    page = window.show_workspace("bench")
    panel = page.categories
    page.tabs.setCurrentWidget(panel)
    assert panel.body.currentWidget() is panel.waiting or panel.stats is not None   # never "No samples yet" early
    for kind in ("mcq", "dlpd"):
        panel.kind.setCurrentText(kind)
        qtbot.waitUntil(lambda k=kind: panel.stats is not None and set(panel.stats["by_kind"]) == {k}, timeout=60000)
        # The chart draws exactly what the CLI prints for that kind.
        assert panel.chart.stats["by_category"] == cli[kind]["by_category"]
        assert panel.chart.stats["by_status"] == cli[kind]["by_status"]
        assert panel.table.rowCount() == len(cli[kind]["by_category"])
        assert {panel.table.item(r, 0).text() for r in range(panel.table.rowCount())} == set(cli[kind]["by_category"])
        assert f"--kind {kind}" in panel.cli_hint.text() and panel.body.currentWidget() is panel.shown
        # The table's numbers are the store's: samples, share of the kind, and samples per review status.
        store, shown = _store_counts(deepones_home, kind), _shown(panel)
        total = sum(sum(by_status.values()) for by_status in store.values())
        assert set(shown) == set(store)
        for category, (samples, share, review) in shown.items():
            assert samples == sum(store[category].values()), category
            assert abs(share - 100 * samples / total) <= 0.5, category
            assert review == {status: store[category].get(status, 0) for status in review}, category
            assert sum(review.values()) == samples, category   # every status has its column
    qtbot.waitUntil(panel.refresh_button.isEnabled, timeout=30000)
    window.grab().save(str(deepones_home / "bench-categories.png"))
