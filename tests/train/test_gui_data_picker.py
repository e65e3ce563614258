"""Train's data is picked, not typed: datasets and statuses with counts, Data's filter or selection and
Traces' fixes arrive with "Train on these", and the per-stage counts are shown before Start — from the
first look at the page (no "Counting samples…" left standing) and after the store changes."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


@pytest.fixture
def window(qtbot, app_context):
    from backend.datasets.demo import ensure_demo
    from deepones_gui.main_window import MainWindow

    ensure_demo(app_context.db)
    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()


def _counted(page) -> bool:
    return "Counting" not in page.counts.text() and "samples" in page.counts.text()


def test_counts_show_at_once_and_choices_list_datasets_and_statuses(qtbot, window):
    page = window.show_workspace("train")
    qtbot.waitUntil(lambda: _counted(page), timeout=20_000)
    assert "instruction" in page.counts.text() and page.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(page.form.data.choices()) > 1, timeout=10_000)
    values = [v for _label, v in page.form.data.choices()]
    assert values[0] == "all" and "status=unreviewed" in values and "status=rejected" not in values
    assert any(v.startswith("dataset=") for v in values)
    labels = [label for label, _v in page.form.data.choices()]
    assert any(label.startswith("Status: unreviewed (") for label in labels)
    # Picking a choice puts its filter in the field and recounts.
    index = values.index("status=unreviewed")
    page.form.data.combo.activated.emit(index)
    assert page.form.data.text() == "status=unreviewed"
    qtbot.waitUntil(lambda: _counted(page), timeout=20_000)


def test_train_on_these_from_data_and_from_traces(qtbot, window, app_context):
    data = window.show_workspace("data")
    qtbot.waitUntil(lambda: data.model.rowCount() > 0, timeout=20_000)
    data.toolbar.train_matching.trigger()
    train = window.pages["train"]
    assert window.stack.currentWidget() is train
    assert train.form.data.choices()[0][0].startswith("From Data: ")
    assert train.form.data.text() == data_filter_text(data)
    qtbot.waitUntil(lambda: _counted(train), timeout=20_000)

    window.show_workspace("data")
    data.table.selectRow(0)
    data.toolbar.train_selected.trigger()
    ids = data.selected_ids()
    assert train.form.data.text() == "id=" + ",".join(str(i) for i in ids)
    assert "selected sample" in train.form.data.choices()[0][0]
    qtbot.waitUntil(lambda: _counted(train), timeout=20_000)

    traces = window.show_workspace("traces")
    traces._samples_made({"created": 2, "skipped": 0})
    assert traces.train_button.isVisibleTo(traces)
    traces.train_button.click()
    assert window.stack.currentWidget() is train and train.form.data.text() == "dataset=trace-fixes"


def data_filter_text(data) -> str:
    from backend.train.data import filter_to_text

    return filter_to_text(data.current_filter())


def test_filter_text_round_trips_ids_and_traits():
    from backend.datasets.query import SampleFilter
    from backend.train.data import TrainDataError, filter_to_text, parse_filter

    flt = SampleFilter(ids=(3, 17), traits=("multi-turn",), statuses=("accepted",))
    assert filter_to_text(flt) == "status=accepted;trait=multi-turn;id=3,17"
    assert parse_filter(filter_to_text(flt)) == flt
    with pytest.raises(TrainDataError, match="whole numbers"):
        parse_filter("id=3,x")
