"""The Design rail, header and buttons tell one story: the header names the selected rail item (one source
of truth), a running stage is listed once, a Hyperparameters answer with no values is not a green "done",
a finished branch offers no "Accept and next", an error highlight goes when the code is replaced, and
Chat's "-> Design" asks which task. Steps are recorded straight into the store (no programs run here)."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings, Qt

from backend.pipeline import SessionStore, get_task
from deepones_gui.workspaces.design.widgets import NEXT, TITLE_ROLE
from tests.design.conftest import replay

PROGRAM = "import sys\nx = 1\nprint(x)\nraise KeyError('label')\n"


def _page(qtbot, ctx):
    from deepones_gui.workspaces.design.page import DesignPage

    QSettings().remove("design")
    page = DesignPage(ctx)   # the page alone: no Overview doctor child to wait for
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page


def _record(sessions: SessionStore, sid: int, stages: list[tuple[str, dict]]) -> list:
    steps, parent = [], None
    for stage, fields in stages:
        data = {"status": "done", "response": f"{stage} answer", **fields}
        step = sessions.add_step(sid, parent, stage, **data)
        steps.append(step)
        parent = step.id
    return steps


def _rail_items(page) -> list[tuple[int, str, str]]:
    rail = page.rail
    return [
        (r, rail.item(r).text(), rail.item(r).data(TITLE_ROLE))
        for r in range(rail.count())
        if rail.item(r).flags() & Qt.ItemFlag.ItemIsEnabled
    ]


def test_header_always_names_the_selected_rail_item(qtbot, app_context):
    page = _page(qtbot, app_context)
    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(
        get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl")
    )
    _record(
        sessions,
        sid,
        [
            ("propose", {}),
            ("improve", {"reference_code": "x = 1\n"}),
            (
                "implement",
                {"status": "failed", "error_type": "KeyError", "code": PROGRAM, "stderr": "KeyError"},
            ),
            ("debug", {"status": "failed", "attempt": 1, "error_type": "KeyError", "code": PROGRAM}),
        ],
    )
    page.open_session(sid)
    items = _rail_items(page)
    assert [t for _r, _l, t in items] == ["Propose", "Improve", "Implement", "Debug 1", "Debug 2"]
    assert items[-1][1].endswith("— next") and page.rail.selected_data() == NEXT
    # Every selection, in any order, and after a store refresh: the header starts with the rail's title.
    for row, _label, title in [*items, *reversed(items), items[2], items[-1]]:
        page.rail.setCurrentRow(row)
        assert page.header.text().startswith(f"{title} — "), (title, page.header.text())
        page.refresh()
        assert page.header.text().startswith(f"{page.rail.selected_title()} — ")
        assert page.rail.selected_title() == title
    assert page.header.text() == "Debug 2 — not run yet"


def test_running_stage_listed_once_and_empty_hyperparameters_not_green(qtbot, app_context):
    page = _page(qtbot, app_context)
    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(
        get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl")
    )
    steps = _record(sessions, sid, [("propose", {})])
    running = sessions.add_step(sid, steps[0].id, "improve")  # this process runs it: status "running"
    page.open_session(sid)
    labels = [page.rail.item(r).text() for r in range(page.rail.count())]
    assert sum(label.startswith("Improve") for label in labels) == 1, labels
    assert not any("— next" in label for label in labels)
    sessions.update_step(running.id, status="done", reference_code="x = 1\n")
    page.refresh()
    assert any(
        label.startswith("Implement") and "— next" in label
        for label in (page.rail.item(r).text() for r in range(page.rail.count()))
    )


def test_hyperparameters_answer_without_values_is_flagged_and_an_edit_clears_it(app_context, tmp_path):
    from backend.pipeline import DesignRunner
    from backend.pipeline.extract import NO_HYPERPARAMETERS

    designer = tmp_path / "designer.jsonl"
    designer.write_text(
        "\n".join(json.dumps({"content": "Train it well and it will do fine."}) for _ in range(4))
    )
    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(get_task("demo-digits"), f"replay:{designer}", replay("programmer.jsonl"))
    _record(
        sessions,
        sid,
        [
            ("propose", {"model": "x"}),
            ("improve", {"model": "x"}),
            ("implement", {"status": "succeeded", "score": 0.9, "code": "x = 1\n", "model": "x"}),
        ],
    )
    step = DesignRunner(app_context.db, sid, root=app_context.data_dir).run_stage()
    assert (step.stage, step.status, step.error_type) == ("hyperparameters", "done", NO_HYPERPARAMETERS)
    assert "No hyperparameter could be read" in step.stderr
    sessions.save_edit(sid, step.id, "response", "learning_rate: 0.01\nepochs: 5")
    fixed = sessions.step(step.id)
    assert fixed.error_type is None and fixed.hyperparameters == {"learning_rate": 0.01, "epochs": 5}


def test_flagged_hyperparameters_show_amber_with_the_reason(qtbot, app_context):
    from backend.pipeline.extract import NO_HYPERPARAMETERS

    page = _page(qtbot, app_context)
    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(
        get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl")
    )
    steps = _record(
        sessions,
        sid,
        [
            ("propose", {}),
            ("implement", {"status": "succeeded", "score": 0.9, "code": "x = 1\n"}),
            (
                "hyperparameters",
                {"error_type": NO_HYPERPARAMETERS, "stderr": "No hyperparameter could be read."},
            ),
        ],
    )
    page.open_session(sid, select=steps[-1].id)
    assert page.reason.isVisible() and "No hyperparameter could be read" in page.reason.text()
    assert page.hyper_table.rowCount() == 0 and NO_HYPERPARAMETERS in page.header.text()


def test_accept_and_next_is_off_on_a_finished_branch(qtbot, app_context):
    page = _page(qtbot, app_context)
    sessions = SessionStore(app_context.db)
    sid = sessions.create_session(
        get_task("demo-digits"), replay("designer.jsonl"), replay("programmer.jsonl")
    )
    steps = _record(
        sessions,
        sid,
        [
            ("propose", {}),
            ("implement", {"status": "succeeded", "score": 0.9, "code": "x = 1\n"}),
            ("hyperparameters", {"hyperparameters": {"epochs": 1}}),
            ("final", {"status": "succeeded", "score": 0.93, "code": "x = 1\n"}),
        ],
    )
    page.open_session(sid)
    assert page.next_stage is None and page.rail.selected_data() == steps[-1].id
    assert not page.accept_btn.isEnabled() and "finished" in page.accept_btn.toolTip()
    page.rail.select_data(steps[0].id)
    assert page.accept_btn.isEnabled()  # an earlier step still goes on to the next one


def test_error_highlight_goes_when_the_code_is_replaced(qtbot):
    from deepones_gui.widgets.code_editor import CodeEditor

    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_code(PROGRAM)
    editor.go_to_line(4)
    assert editor.marked_line() == 4
    qtbot.wait(50)  # the syntax highlighter's deferred pass must not count as an edit
    assert editor.marked_line() == 4
    editor.setPlainText("print('fixed')\n")
    assert editor.marked_line() is None
    assert not [s for s in editor.extraSelections() if s.format.background().color().red() == 254]


def test_send_to_design_asks_which_task(qtbot, app_context, monkeypatch):
    page = _page(qtbot, app_context)
    asked = []
    monkeypatch.setattr(page, "choose_task", lambda current: asked.append(current) or "image-classification")
    app_context.broadcast.emit("send_to_design", {"text": "One possible model is ResNet-18."})
    assert asked == ["demo-digits"] and page.state.task.name == "image-classification"
    before = len(page.sessions.list_sessions())
    monkeypatch.setattr(page, "choose_task", lambda current: None)  # cancelled: nothing is made
    app_context.broadcast.emit("send_to_design", {"text": "Another idea."})
    assert len(page.sessions.list_sessions()) == before


def test_the_task_dialog_lists_every_task_with_the_open_one_first(qtbot, app_context, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from backend.pipeline.catalog import all_tasks

    page = _page(qtbot, app_context)
    shown = {}

    def get_item(parent, title, label, items, current, editable):
        shown.update(title=title, items=list(items), current=current, editable=editable)
        return items[1], True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))
    picked = page.choose_task("image-classification")
    tasks = all_tasks()
    assert shown["items"][0] == f"{tasks['image-classification'].title}  (image-classification)"
    assert len(shown["items"]) == len(tasks) and shown["editable"] is False
    assert picked in tasks and picked != "image-classification" and shown["items"][1].endswith(f"({picked})")
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a: ("", False)))
    assert page.choose_task("demo-digits") is None   # Cancel: no task, nothing is made
