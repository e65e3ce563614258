import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from backend.workspaces import workspaces
from deepones_gui.error_dialog import ErrorDialog, ExceptionHook
from deepones_gui.main_window import MainWindow
from deepones_gui.workspaces.page_protocol import HostedPage, WorkspacePage


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
        # First-party pages implement the protocol themselves (none is wrapped as a plain widget).
        assert isinstance(page, WorkspacePage) and not isinstance(page, HostedPage), spec.name
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
    qtbot.waitUntil(lambda: page.report is not None, timeout=240_000)  # doctor runs a canary generation
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

    class Listener(WorkspacePage):
        def __init__(self, ctx):
            super().__init__()
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


def test_preferences_browse_is_disabled_with_the_folder_field_when_deepones_home_is_set(qtbot, app_context):
    import os

    from deepones_gui.dialogs import PreferencesDialog

    assert os.environ.get("DEEPONES_HOME")          # set for every test
    dlg = PreferencesDialog(app_context)
    qtbot.addWidget(dlg)
    assert not dlg.data_dir.isEnabled()
    assert not dlg.data_browse.isEnabled() and "DEEPONES_HOME" in dlg.data_browse.toolTip()


def test_overview_data_card_shows_the_sample_count(qtbot, app_context):
    from PySide6.QtWidgets import QLabel

    from backend.datasets.demo import ensure_demo
    from deepones_gui.workspaces.overview import OverviewPage

    page = OverviewPage(app_context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.report is not None, timeout=240_000)  # doctor runs a canary generation
    assert page.report["db"]["samples"] == 0
    assert "0 samples" in page.data_headline.text()
    # The demo import lands after the check: the card follows the store without "Check again".
    ensure_demo(app_context.db)
    qtbot.waitUntil(lambda: "257 samples" in page.data_headline.text(), timeout=15_000)
    assert page.report["db"]["samples"] == 257
    texts = [w.text() for w in page.grid_host.findChildren(QLabel)]
    assert any("257 samples" in t for t in texts), texts


SMOKE = """
import json, os, sys
from pathlib import Path
from deepones_gui.app import make_application, open_context
from deepones_gui.main_window import MainWindow
app = make_application([])
ctx = open_context(Path(os.environ["DEEPONES_HOME"]), interactive=False)
window = MainWindow(ctx)
window.resize(1280, 800)
window.show()
for spec in window.specs:
    window.show_workspace(spec.name)
    app.processEvents()
print(json.dumps({"names": [s.name for s in window.specs], "failed": window.failed_pages,
                  "plugins": __import__("backend.plugins", fromlist=["x"]).plugin_names()}))
window.close()
"""


def test_with_plugins_disabled_the_app_still_shows_its_workspaces(deepones_home, tmp_path):
    import json
    import os
    import subprocess

    env = {**os.environ, "DEEPONES_LOAD_PLUGINS": "0", "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", SMOKE], capture_output=True, text=True, env=env, timeout=180,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # The built-in plugins are registered from DEFAULT_PLUGINS; nothing else (no entry point) is.
    assert result["plugins"] == __import__("backend.plugins", fromlist=["x"]).builtin_plugin_names()
    assert result["names"] == ["overview", "data", "chat", "models", "design", "jobs", "bench", "traces", "train",
                              "generate"]
    assert result["failed"] == {}


KILLED_MID_ANSWER = """
import os, sys, time
from pathlib import Path
from deepones_gui.app import make_application, open_context
from deepones_gui.main_window import MainWindow
app = make_application([])
ctx = open_context(Path(os.environ["DEEPONES_HOME"]), interactive=False)
window = MainWindow(ctx)
window.show()
chat = window.show_workspace("chat")
deadline = time.monotonic() + 60
while not chat.picker.ready and time.monotonic() < deadline:
    app.processEvents(); time.sleep(0.01)
chat.select_model("embedded")
chat.settings.max_tokens.setValue(4000)
chat.input.setPlainText("Write a long essay about convolutional networks.")
chat.send()
told = False
while True:   # until killed
    app.processEvents(); time.sleep(0.005)
    if not told and len(chat.runner.text) > 20:
        told = True
        print("STREAMING", flush=True)
"""


def test_after_the_app_is_killed_mid_answer_the_next_start_offers_to_carry_on(qtbot, deepones_home, tmp_path):
    """Issue 9/15: killed during a chat answer (SIGKILL: no clean-up at all), the next start reopens on
    Chat, says what was interrupted, and Retry answers the question in place."""
    import os
    import signal
    import subprocess

    from deepones_gui.app import make_application, open_context
    from deepones_gui.workspaces.chat.message_widget import MessageWidget
    from deepones_gui.workspaces.chat.page import STOPPED_BEFORE_ANSWER

    make_application([])   # the same QSettings names as the child's
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", KILLED_MID_ANSWER], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, start_new_session=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "STREAMING", child.stderr.read()[-3000:] if child.poll() is not None else line
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)

    ctx = open_context(deepones_home, interactive=False)
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        assert window.specs[window.nav.currentRow()].name == "chat"     # reopened where it was
        banner = window.recovery_banner
        assert banner is not None and not banner.isHidden()
        assert len(banner.items) == 1 and banner.items[0].kind == "chat"
        assert "convolutional networks" in banner.items[0].title
        page = window.pages["chat"]
        qtbot.waitUntil(lambda: page.picker.ready, timeout=20_000)
        # The chat itself shows the unanswered question with the model-stopped notice and Retry.
        page.show_chat(banner.items[0].target["chat_id"])
        assert page.unanswered is not None and page.unanswered.error.text() == STOPPED_BEFORE_ANSWER
        page.settings.max_tokens.setValue(8)
        banner.buttons[0].click()                                        # "Retry the answer", in place
        qtbot.waitUntil(lambda: not page.runner.running and page._pending is None, timeout=120_000)
        texts = [w for w in page.thread_host.findChildren(MessageWidget) if w.isVisibleTo(page)]
        assert texts[-1].role == "assistant" and texts[-1].body.text.strip() and not texts[-1].error.isVisible()
        assert banner.isHidden()                                         # its only item is done
        window.close()
        # Shown once: a clean restart has nothing to report.
        again = MainWindow(ctx)
        qtbot.addWidget(again)
        assert again.recovery_banner is None
        again.close()
    finally:
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks()
        ctx.db.conn.close()


def test_progressive_start_highlights_the_workspace_it_opens(qtbot, app_context):
    """As deepones_gui.app.run starts: the window is shown first, its workspace built after that."""
    from PySide6.QtCore import QSettings

    QSettings().setValue("main/workspace", "")   # a first start: the first row, current before activation
    window = MainWindow(app_context, activate=False)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    # Focus makes the rail's first row current (not selected) before any workspace exists.
    qtbot.waitUntil(lambda: window.nav.currentRow() == 0, timeout=5000)
    chrome_only = window.nav.visualItemRect(window.nav.item(0))
    window.activate()
    name = window.current_workspace_name()
    assert window.stack.currentWidget() is window.pages[name]
    assert window.nav.currentItem().isSelected()        # the rail shows where the user is
    assert window.nav.visualItemRect(window.nav.item(0)) == chrome_only   # icons land without moving the rail


def test_a_workspace_that_fails_to_load_shows_its_error_as_text_not_markup(qtbot, app_context):
    from PySide6.QtGui import QTextDocument

    from backend.workspaces import WorkspaceSpec

    def broken(_ctx):
        raise ValueError("expected <b>tensor</b> & got <i>None")

    spec = WorkspaceSpec("broken", "Broken <plugin>", 5, broken, needs_store=False)
    window = MainWindow(app_context, [spec])
    qtbot.addWidget(window)
    label = window.page("broken").widget
    assert window.failed_pages == {"broken": "ValueError: expected <b>tensor</b> & got <i>None"}
    shown = QTextDocument()
    shown.setHtml(label.text())
    text = shown.toPlainText()
    assert "The Broken <plugin> workspace could not be loaded" in text
    assert "ValueError: expected <b>tensor</b> & got <i>None" in text
    assert "Details are in the log file." in text    # an unclosed <i> no longer swallows the rest's style


def test_a_plain_widget_from_a_plugin_is_hosted_with_the_page_defaults(qtbot, app_context):
    """A third-party factory may return any QWidget: the window wraps it and still calls the protocol
    on every page (ready, can_close, shutdown), with no hasattr; a page that says no keeps it open."""
    from backend.workspaces import WorkspaceSpec

    class Busy(WorkspacePage):
        def __init__(self, ctx):
            super().__init__()
            self.asked = self.shut = 0
            self.allow = False

        def can_close(self):
            self.asked += 1
            return self.allow

        def shutdown(self):
            self.shut += 1

    specs = [WorkspaceSpec("plain", "Plain", 0, lambda ctx: QPushButton("plain"), needs_store=False),
             WorkspaceSpec("busy", "Busy", 1, Busy, needs_store=False)]
    window = MainWindow(app_context, specs=specs)
    qtbot.addWidget(window)
    window.show()
    plain, busy = window.page("plain"), window.show_workspace("busy")
    assert isinstance(plain, HostedPage) and isinstance(plain.widget, QPushButton)
    assert plain.ready() and plain.can_close() and plain.open_item(None) is False
    assert not window.close() and window.isVisible() and busy.asked == 1 and busy.shut == 0
    busy.allow = True
    assert window.close() and busy.shut == 1
