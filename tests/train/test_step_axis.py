"""The metric charts' step axis (shared by Jobs and Train): a short run of 6 steps is labelled with
whole steps only. pyqtgraph's default axis puts ticks at 1.5, 2.5, … on such a range."""

from __future__ import annotations

import pytest


def _tick_values(axis, lo: float, hi: float, size: float) -> list[float]:
    return [v for _spacing, values in axis.tickValues(lo, hi, size) for v in values]


@pytest.mark.parametrize("size", [240, 480, 900])
def test_a_short_run_gets_whole_step_ticks_only(qtbot, size):
    from deepones_gui.widgets.metric_chart import MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    chart.add_points("job", "loss", range(1, 7), [4.0, 3.6, 3.3, 3.1, 2.9, 2.8])
    chart.add_points("job", "learning_rate", range(1, 7), [3e-4, 2.9e-4, 2.5e-4, 1.8e-4, 1e-4, 3e-5])
    chart.refresh(force=True)
    panels = list(chart.panels.values())
    assert len(panels) == 2
    for panel in panels:
        axis = panel.plot.getPlotItem().getAxis("bottom")
        ticks = _tick_values(axis, 0.9, 6.1, size)
        assert ticks, "no tick at all"
        assert all(float(v).is_integer() for v in ticks), ticks


def test_long_runs_and_sub_step_spans_keep_their_ticks(qtbot):
    from deepones_gui.widgets.metric_chart import StepAxis

    axis = StepAxis("bottom")
    assert max(_tick_values(axis, 0, 10_000, 600)) >= 9000          # big ranges unchanged
    assert any(not float(v).is_integer() for v in _tick_values(axis, 2.0, 2.6, 600))  # zoomed in: fractions stay
