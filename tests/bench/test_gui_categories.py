"""Bench > Data categories (Figure 6): the Data workspace's stats chart for a chosen kind, the same
numbers as `deepones data stats --kind K --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepones_gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


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
    qtbot.waitUntil(panel.refresh_button.isEnabled, timeout=30000)
    window.grab().save(str(deepones_home / "bench-categories.png"))
