"""Start the GUI: data dir and store checks with clear messages, then the main window on qasync."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from backend import paths, recovery
from backend.logsetup import setup_logging
from backend.store import StoreError, move_aside, open_store, open_store_deferred
from deepones_gui.context import AppContext

if TYPE_CHECKING:   # annotations only: neither is imported before the window needs it
    from deepones_gui.error_dialog import ExceptionHook
    from deepones_gui.main_window import MainWindow

APP_TITLE = "DeepOnes Studio"
T = TypeVar("T")


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("DeepOnes Studio")
    app.setOrganizationName("DeepOnes")
    app.setOrganizationDomain("deepones.local")
    app.setApplicationVersion("0.1.0")
    icon = Path(__file__).resolve().parents[1] / "resources" / "icons" / "deepones.svg"
    if icon.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    return app


def _ask_other_data_dir(message: str) -> Path | None:
    box = QMessageBox(QMessageBox.Icon.Critical, APP_TITLE, message)
    choose = box.addButton("Choose another folder…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if box.clickedButton() is choose:
        chosen = QFileDialog.getExistingDirectory(None, "Data folder")
        return Path(chosen) if chosen else None
    return None


def _ask_move_aside(exc: StoreError) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, APP_TITLE, str(exc))
    box.setInformativeText("Move it aside and start with a fresh database? The old file is kept, renamed.")
    move = box.addButton("Move aside and start fresh", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is move


def _data_dir_or_ask(root: Path | None, interactive: bool) -> Path | None:
    root = root or paths.data_dir()
    while True:
        try:
            return paths.ensure_data_dir(root)
        except paths.DataDirError as exc:
            other = _ask_other_data_dir(str(exc)) if interactive else None
            if other is None:
                return None
            root = other
            if not os.environ.get(paths.ENV_HOME):
                paths.set_data_dir(root)


def _store_or_ask(root: Path, interactive: bool, opener: Callable[[Path], T] = open_store) -> T | None:
    while True:
        try:
            return opener(root)
        except StoreError as exc:
            if not (interactive and _ask_move_aside(exc)):
                return None
            move_aside(exc.path)


def open_context(root: Path | None = None, interactive: bool = True) -> AppContext | None:
    """Data dir, logs and store, asking the user what to do about each problem (None = quit)."""
    root = _data_dir_or_ask(root, interactive)
    if root is None:
        return None
    log_path = setup_logging(root)
    db = _store_or_ask(root, interactive)
    return AppContext(root, db, log_path) if db is not None else None


def _open_store(ctx: AppContext, window) -> bool:
    """Check the store and migrate it if needed; False when the user quits instead.

    sqlite-utils is imported when a workspace first uses ``ctx.db``, not on the way to the first one.
    """
    window.statusBar().showMessage("Opening the database…")
    store = _store_or_ask(ctx.data_dir, interactive=True, opener=open_store_deferred)
    window.statusBar().clearMessage()
    if store is None:
        return False
    ctx.attach_store(store)
    return True


@dataclass
class Startup:
    """What :func:`show_window` made, handed on to :func:`open_first_workspace` and the event loop."""

    app: QApplication
    window: MainWindow
    ctx: AppContext
    root: Path
    hook: ExceptionHook | None = None


def show_window(argv: list[str] | None = None) -> Startup | None:
    """Step 1 of start-up: the window (navigation, menus, status bar), shown and painted; None = quit."""
    app = make_application(argv)
    from deepones_gui.main_window import MainWindow
    from deepones_gui.workspaces.builtin import available_workspaces

    root = _data_dir_or_ask(None, interactive=True)
    if root is None:
        return None
    ctx = AppContext(root, None, None)
    window = MainWindow(ctx, available_workspaces(third_party=False), activate=False)
    window.show()
    app.processEvents()
    return Startup(app, window, ctx, root)


def open_first_workspace(startup: Startup) -> bool:
    """Step 2: third-party workspaces, logging, the error hook and the store; then the last-used
    workspace, built and painted. False when the user quits instead (the store could not be opened).

    Nothing here waits for the event loop, so a big or damaged database never delays the first
    frame, and asyncio (~50 ms with qasync) is imported only once the workspace is on screen.
    """
    from deepones_gui.error_dialog import ExceptionHook

    window, ctx = startup.window, startup.ctx
    window.add_third_party_workspaces()   # before the last-used workspace is restored: it may be one
    ctx.log_path = setup_logging(startup.root)
    startup.hook = ExceptionHook(ctx.log_path, lambda: window)
    if not _open_store(ctx, window):
        startup.hook.uninstall()
        return False
    window.activate()
    startup.app.processEvents()   # lays out and paints it
    return True


def close(startup: Startup) -> None:
    """What a clean quit does once the event loop is over (or a probe that ran none)."""
    startup.window.save_state()
    recovery.end_session(startup.root)   # a clean quit: the next start is not taken for one after a crash
    if startup.hook is not None:
        startup.hook.uninstall()
    startup.ctx.close_store()


def run(argv: list[str] | None = None) -> int:
    """The GUI: steps 1 and 2 (``tests/benchmarks/startup_probe.py`` times them), then the event loop."""
    startup = show_window(argv)
    if startup is None or not open_first_workspace(startup):
        return 1
    startup.window.after_first_workspace()

    # 3. The event loop, on asyncio.
    import asyncio

    import qasync

    loop = qasync.QEventLoop(startup.app)
    asyncio.set_event_loop(loop)
    closing = asyncio.Event()
    startup.app.aboutToQuit.connect(closing.set)
    with loop:
        loop.run_until_complete(closing.wait())
    close(startup)
    return 0


