"""Bench's tables: empty optional columns are hidden, long cells are clipped with the whole text in a tooltip."""

from __future__ import annotations

from backend.bench.aggregate import Table2Row
from deepones_gui.workspaces.bench.tables import MAX_COLUMN_PX, RunsView, Table2View


def _row(variant: str, mean: float, gain: float | None = None) -> Table2Row:
    return Table2Row(task="demo-digits", designer="embedded", variant=variant, direction="higher", runs=2,
                     succeeded=2, success_rate=1.0, mean=mean, best=mean, worst=mean, best_exec_s=3.0,
                     best_session_id=1, gain=gain)


def _column(table, title: str) -> int:
    return table.HEADERS.index(title)


def test_table2_hides_gain_without_a_base_row_and_shows_it_with_one(qtbot):
    table = Table2View()
    qtbot.addWidget(table)
    table.resize(900, 300)
    table.show()
    gain = _column(table, "Gain vs base")
    table.set_rows([_row("plus", 0.9)])   # a "+" row alone: nothing to compare with
    assert table.isColumnHidden(gain)
    assert not table.isColumnHidden(_column(table, "Mean"))   # only optional columns are hidden
    table.set_rows([_row("base", 0.75), _row("plus", 0.9, gain=0.15)])
    assert not table.isColumnHidden(gain)
    assert table.item(1, gain).text() == "+0.15"


def test_runs_table_clips_a_rambling_backbone_and_keeps_it_in_the_tooltip(qtbot):
    noise = "utils." * 200 + "\n\nResNet"   # what a tiny designer writes as its "backbone"
    run = {"run_index": 0, "status": "failed", "score": None, "exec_s": 1.5, "error_types": [],
           "backbone": noise, "backbone_source": "regex", "improvement": None, "improvement_source": None,
           "executor": "local", "host": "box", "session_id": 7}
    table = RunsView()
    qtbot.addWidget(table)
    table.resize(900, 300)
    table.show()
    table.set_rows([run])
    backbone = _column(table, "Backbone")
    assert not table.isColumnHidden(backbone)
    assert table.columnWidth(backbone) <= MAX_COLUMN_PX
    item = table.item(0, backbone)
    assert "\n" not in item.text()                     # one line in the cell
    assert " ".join(noise.split()) in item.toolTip()    # the whole text on hover
    assert "found by: regex" in item.toolTip()
    # Nothing in these columns for this run: hidden, not a wide column of dashes.
    assert table.isColumnHidden(_column(table, "Improvement"))
    assert table.isColumnHidden(_column(table, "Errors while debugging"))
    # Every other column keeps its room: the run's status and session are on screen.
    assert table.columnViewportPosition(_column(table, "Session")) < table.viewport().width()


def test_table2_last_visible_column_fills_the_row_when_gain_is_hidden(qtbot):
    table = Table2View()
    qtbot.addWidget(table)
    table.resize(900, 300)
    table.show()
    qtbot.waitExposed(table)
    table.set_rows([_row("base", 0.75)])
    success = _column(table, "Success")
    assert table.isColumnHidden(_column(table, "Gain vs base"))
    right = table.columnViewportPosition(success) + table.columnWidth(success)
    assert right >= table.viewport().width() - 2   # no blank strip where the hidden column was
