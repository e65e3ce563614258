import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from backend.workspaces import workspaces
from deepones_gui.error_dialog import ErrorDialog, ExceptionHook
from deepones_gui.main_window import MainWindow


def test_main_window_visits_every_workspace_and_screenshots(qtbot, app_context, tmp_path):
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1200, 760)
    window.show()
    qtbot.waitExposed(window)
    specs = workspaces()
    assert [s.name for s in window.specs] == [s.name for s in specs]
    assert window.nav.count() == len(specs) >= 1
    for spec in specs:
        page = window.show_workspace(spec.name)
        assert window.stack.currentWidget() is page
        qtbot.wait(50)
        shot = tmp_path / f"workspace-{spec.name}.png"
        assert window.grab().save(str(shot))
        assert shot.stat().st_size > 5_000
    assert window.failed_pages == {}
    assert str(app_context.data_dir) in window.data_label.text()
    assert "SmolLM2" in window.model_label.text()
    qtbot.waitUntil(lambda: not window.gpu_label.text().endswith("checking…"), timeout=10_000)


def test_overview_fills_in_from_doctor(qtbot, app_context):
    from deepones_gui.workspaces.overview import OverviewPage

    page = OverviewPage(app_context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.report is not None, timeout=60_000)
    assert page.grid.count() >= 6
    assert page.report["embedded_model"]["path"].endswith(".gguf")


def test_window_state_is_restored(qtbot, app_context):
    first = MainWindow(app_context)
    qtbot.addWidget(first)
    first.resize(740, 520)  # inside the offscreen screen (800x600), so no clamping
    first.show()
    qtbot.waitExposed(first)
    last_row = first.nav.count() - 1
    first.nav.setCurrentRow(last_row)
    size = (first.width(), first.height())  # after any minimum-size adjustment by the workspaces
    first.close()
    second = MainWindow(app_context)
    qtbot.addWidget(second)
    assert second.nav.currentRow() == last_row
    assert (second.width(), second.height()) == size


def test_unexpected_exception_shows_non_modal_dialog_and_app_lives(qtbot, app_context):
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    hook = ExceptionHook(app_context.log_path, lambda: window)
    try:
        def boom():
            raise ValueError("deliberate test failure")

        QTimer.singleShot(0, boom)
        qtbot.waitUntil(lambda: any(d.isVisible() for d in hook.dialogs), timeout=5000)
        dialog = hook.dialogs[-1]
        assert isinstance(dialog, ErrorDialog)
        assert not dialog.isModal()
        assert "deliberate test failure" in dialog.details
        copy = [b for b in dialog.findChildren(QPushButton) if b.text() == "Copy details"][0]
        copy.click()
        assert "deliberate test failure" in QApplication.clipboard().text()
        dialog.close()
        assert "deliberate test failure" in app_context.log_path.read_text()
    finally:
        hook.uninstall()
    assert sys.excepthook is not hook._hook


def test_preferences_saves_settings(qtbot, app_context):
    from deepones_gui.dialogs import PreferencesDialog

    dlg = PreferencesDialog(app_context)
    qtbot.addWidget(dlg)
    dlg.python.setText(sys.executable)
    dlg.designer.setCurrentText("replay:/tmp/x.jsonl")
    dlg.jobs_per_gpu.setValue(2)
    seen = []
    app_context.settings_changed.connect(lambda: seen.append(True))
    dlg.accept()
    from backend.settings import load_settings

    saved = load_settings(app_context.data_dir)
    assert saved.execution_python == sys.executable
    assert saved.designer_model == "replay:/tmp/x.jsonl"
    assert saved.jobs_per_gpu == 2
    assert seen


def test_broadcast_to_a_workspace_not_built_yet_is_delivered_once(qtbot, app_context):
    from backend.workspaces import WorkspaceSpec

    received = []

    class Listener(QPushButton):
        def __init__(self, ctx):
            super().__init__("listener")
            ctx.broadcast.connect(self.on_broadcast)

        def on_broadcast(self, name, payload):
            received.append((name, payload))

    specs = [WorkspaceSpec("first", "First", 0, lambda ctx: QPushButton("first")),
             WorkspaceSpec("listener", "Listener", 1, Listener, listens=("ping",))]
    window = MainWindow(app_context, specs=specs)
    qtbot.addWidget(window)
    assert "listener" not in window.pages
    app_context.broadcast.emit("ping", {"n": 1})
    assert "listener" in window.pages
    assert received == [("ping", {"n": 1})]
    app_context.broadcast.emit("ping", {"n": 2})  # now through the page's own connection
    assert received == [("ping", {"n": 1}), ("ping", {"n": 2})]
