"""Files dropped onto the main window go where they belong: a real QDropEvent per kind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")


def _drop(window, paths: list[Path]) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(window.rect().center()), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted()


@pytest.fixture
def window(qtbot, app_context):
    from deepones_gui.main_window import MainWindow

    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.acceptDrops()
    return w


def test_a_dropped_gguf_is_added_to_models(window, qtbot, tmp_path, app_context):
    from backend.llm.embedded import embedded_model_path

    gguf = tmp_path / "my-designer.gguf"
    os.symlink(embedded_model_path(), gguf)   # a real GGUF elsewhere on disk, without a 98 MB copy
    _drop(window, [gguf])
    page = window.pages.get("models")
    qtbot.waitUntil(lambda: window.pages.get("models") is not None and any(
        m["name"] == "my-designer.gguf" for m, _i, _e in window.pages["models"].rows), timeout=60_000)
    page = window.pages["models"]
    assert window.stack.currentWidget() is page
    listed = next(m for m, _i, _e in page.rows if m["name"] == "my-designer.gguf")
    assert Path(listed["path"]).parent == app_context.data_dir / "models"


def test_dropped_jsonl_is_imported_into_data(window, qtbot, tmp_path, app_context):
    from backend.store import connection

    data = tmp_path / "dropped_set.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Which optimiser suits case {i}?", "output": "AdamW."}) + "\n"
                            for i in range(7)), "utf-8")
    _drop(window, [data])
    assert window.stack.currentWidget() is window.pages["data"]

    def imported() -> int:
        with connection(app_context.db_path) as db:
            return db.conn.execute("SELECT count(*) FROM samples WHERE dataset = 'dropped_set'").fetchone()[0]

    qtbot.waitUntil(lambda: imported() == 7, timeout=120_000)


def test_a_dropped_program_runs_as_a_job(window, qtbot, tmp_path, app_context):
    from backend.jobs.records import list_jobs
    from backend.store import connection

    prog = tmp_path / "dropped_prog.py"
    prog.write_text("print('loss=0.25 step=1')\nopen('metric.log', 'w').write('0.9')\n")
    _drop(window, [prog])
    assert window.stack.currentWidget() is window.pages["jobs"]

    def status() -> str | None:
        with connection(app_context.db_path) as db:
            rows = [r for r in list_jobs(db) if r["name"] == "dropped_prog.py"]
        return rows[0]["status"] if rows else None

    qtbot.waitUntil(lambda: status() == "succeeded", timeout=180_000)


def test_a_dropped_trace_export_opens_in_traces(window, qtbot, tmp_path, app_context):
    trace = {
        "session_id": 41, "title": "Shared by a colleague", "task": "demo-digits", "task_description": "",
        "designer": "replay:a", "programmer": "replay:b", "status": "finished", "created_at": 0.0,
        "outcome": "failed", "labels": [], "notes": [],
        "attempts": [
            {"id": 1, "parent_id": None, "stage": "propose", "attempt": 0, "status": "done",
             "response": "One possible model is an MLP.", "created_at": 0.0},
            {"id": 2, "parent_id": 1, "stage": "implement", "attempt": 0, "status": "failed",
             "code": "import torch\nx = torch.zeros(2, 3) @ torch.zeros(2, 3)\n",
             "stderr": "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)",
             "error_type": "RuntimeError", "labels": ["shape-mismatch"], "created_at": 1.0},
        ],
    }
    path = tmp_path / "shared_trace.json"
    path.write_text(json.dumps({"schema": "deepones.trace", "version": 1, "exported_at": 0, "trace": trace}))
    _drop(window, [path])

    def shown():
        page = window.pages.get("traces")
        view = getattr(page, "view", None)
        return getattr(view, "trace", None)

    from PySide6.QtWidgets import QApplication, QMessageBox
    from pytestqt.exceptions import TimeoutError as WaitTimeout

    try:
        qtbot.waitUntil(lambda: shown() is not None and "Shared by a colleague" in shown().title, timeout=120_000)
    except WaitTimeout:   # say what the user would have seen instead
        boxes = [w.text() for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        page = window.pages.get("traces")
        raise AssertionError(f"not opened; status bar {window.statusBar().currentMessage()!r}, messages {boxes}, "
                             f"traces page {'built' if page else 'not built'}"
                             + (f", list {page.count_label.text()!r}, pending {page._pending_open}" if page else "")
                             ) from None
    assert window.stack.currentWidget() is window.pages["traces"]
    attempt = next(a for a in shown().attempts if a.stage == "implement")
    assert attempt.error_type == "RuntimeError" and attempt.labels == ["shape-mismatch"]


def test_unknown_files_are_refused_with_a_message(window, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    from deepones_gui.window_extras import handle_drop

    plan = handle_drop(window, [notes])
    assert plan.empty and "notes.txt" in window.statusBar().currentMessage()
