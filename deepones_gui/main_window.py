"""The main window: workspace navigation on the left, the workspace on the right, a status bar."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import QByteArray, QSettings, QSize, QTimer, QUrl
from PySide6.QtGui import QAction, QColor, QDesktopServices, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from backend import plugins, recovery
from backend.workspaces import WorkspaceSpec
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext, describe_model
from deepones_gui.workspaces.builtin import available_workspaces
from deepones_gui.workspaces.page_protocol import HostedPage, WorkspacePage, as_workspace_page

log = logging.getLogger(__name__)
GPU_REFRESH_MS = 5000
# Qt.ItemDataRole.UserRole. Touching PySide6's ``Qt`` namespace (or QStyle's enums) costs ~50 ms of
# enum set-up, so nothing on the path to the first frame does; icons are set when the window activates.
USER_ROLE = 0x0100
# Room a window manager's borders and title bar take around the window (see MainWindow._first_size).
FRAME_ALLOWANCE = QSize(16, 40)


def _gpu_summary(*, progress, partial, cancel) -> str:
    from backend import gpu  # subprocess, NVML: only for the first reading, off the GUI thread

    return gpu.gpu_summary_text()


def _set_shortcut(action: QAction, keys: str) -> None:
    # setShortcuts([...]), not setShortcut(...): resolving setShortcut's overloads makes PySide6 build
    # every enum of the ``Qt`` namespace (~30-50 ms) before the first frame; the list form does not.
    action.setShortcuts([QKeySequence(keys)])


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, specs: list[WorkspaceSpec] | None = None, activate: bool = True) -> None:
        """``activate=False`` shows the chrome first; call :meth:`activate` once the store is open."""
        super().__init__()
        self.active = False
        self.ctx = ctx
        ctx.window = self
        self.setWindowTitle("DeepOnes Studio")
        self.setObjectName("MainWindow")
        self.specs = list(specs) if specs is not None else available_workspaces()
        self.recovery_banner = None   # shown once after an abrupt end of the previous run
        self.pages: dict[str, WorkspacePage] = {}
        self.failed_pages: dict[str, str] = {}   # workspace name -> error, for pages whose factory raised

        self.nav = QListWidget()
        self.nav.setObjectName("WorkspaceNav")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setMinimumWidth(150)
        self.nav.setMaximumWidth(240)
        self.nav.setStyleSheet(
            "QListWidget#WorkspaceNav { font-size: 11pt; padding-top: 6px; }"
            "QListWidget#WorkspaceNav::item { padding: 9px 10px; }"
        )
        self.stack = QStackedWidget()
        # Blank until activate() sets the real icons (QStyle's enum set-up is not on the way to the
        # first frame): the rail keeps its layout when they land.
        blank = QPixmap(self.nav.iconSize())
        blank.fill(QColor(0, 0, 0, 0))
        self._placeholder_icon = QIcon(blank)
        for row, spec in enumerate(self.specs):
            self._add_nav_item(row, spec)
        self.nav.currentRowChanged.connect(self._show_row)

        splitter = QSplitter()
        splitter.setObjectName("MainSplitter")
        splitter.addWidget(self.nav)
        right = QWidget()
        self.right_column = QVBoxLayout(right)
        self.right_column.setContentsMargins(0, 0, 0, 0)
        self.right_column.addWidget(self.stack, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self._build_menus()
        self._build_status_bar()
        ctx.settings_changed.connect(self._refresh_status)
        # Connected before any page is built, so this runs first for every broadcast.
        ctx.broadcast.connect(self._route_broadcast)
        ctx.show_requested.connect(self._show_requested)
        ctx.status_message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self._restore_geometry()
        self.setAcceptDrops(True)  # .gguf -> Models, data files -> Data, .py -> Jobs, trace exports -> Traces
        if activate:
            self.activate()
            QTimer.singleShot(0, self.after_first_workspace)

    def _add_nav_item(self, row: int, spec: WorkspaceSpec) -> None:
        item = QListWidgetItem(spec.title)
        item.setIcon(self._placeholder_icon)
        shortcut = spec.shortcut or (f"Ctrl+{row + 1}" if row < 9 else "")
        item.setToolTip(f"{spec.tooltip or spec.title}  ({shortcut})" if shortcut else spec.tooltip)
        item.setData(USER_ROLE, spec.name)
        self.nav.addItem(item)
        if shortcut:
            action = QAction(spec.title, self)
            _set_shortcut(action, shortcut)
            action.triggered.connect(lambda _=False, r=row: self.nav.setCurrentRow(r))
            self.addAction(action)

    def _add_view_action(self, row: int, spec: WorkspaceSpec) -> None:
        act = self.view_menu.addAction(spec.title)
        act.triggered.connect(lambda _=False, r=row: self.nav.setCurrentRow(r))

    def add_third_party_workspaces(self) -> list[str]:
        """Load third-party plugins and append the workspaces they register (after the built-ins, in
        their own order). ``deepones_gui.app.run`` calls it once the window is shown, because the
        entry-point scan is not worth delaying the first frame; the last-used workspace is restored
        after it, so a third-party one is restored too. Returns the names added."""
        plugins.load_third_party_plugins()
        known = {spec.name for spec in self.specs}
        added = [spec for spec in available_workspaces() if spec.name not in known]
        for spec in added:
            row = len(self.specs)
            self.specs.append(spec)
            self._add_nav_item(row, spec)
            self._add_view_action(row, spec)
        if added and self.active:
            self._apply_icons()
        self._refresh_status()   # a third-party backend can now describe the designer model
        return [spec.name for spec in added]

    def activate(self) -> None:
        """Build the last-used workspace; needs the store open (``ctx.db``).

        Then call :meth:`after_first_workspace` once it is painted (the constructor does with
        ``activate=True``; ``deepones_gui.app.run`` does right after the first frame of it).
        """
        self.active = True
        self._apply_icons()
        last = QSettings().value("main/workspace", "")
        names = [s.name for s in self.specs]
        if names:
            row = names.index(last) if last in names else 0
            # Focus on the shown window already made a row current, unselected: select it too.
            already_current = self.nav.currentRow() == row
            self.nav.setCurrentRow(row)
            if already_current:
                self._show_row(row)
        self._check_recovery()

    def after_first_workspace(self) -> None:
        """What waits until the first workspace is on screen: the first-run wizard check, and the
        store's wrapper (sqlite-utils and the numpy it imports) loaded off the GUI thread, so the
        first view that wraps the store does not pay for the import."""
        from deepones_gui.concurrent import run_in_background
        from deepones_gui.window_extras import maybe_first_run

        run_in_background(_warm_store_wrapper)
        maybe_first_run(self)

    # -- after a crash -------------------------------------------------------------------------
    def _check_recovery(self) -> None:
        """Once per start: if the previous run ended abruptly, list what it left unfinished."""
        crashed_run_started = recovery.begin_session(self.ctx.data_dir)
        if crashed_run_started is None or self.ctx.db is None:
            return
        items = recovery.interrupted_work(self.ctx.db, self.ctx.data_dir, crashed_run_started)
        if not items:
            return
        from deepones_gui.recovery_banner import RecoveryBanner

        self.recovery_banner = RecoveryBanner(items)
        self.recovery_banner.resume_requested.connect(self.resume)
        self.right_column.insertWidget(0, self.recovery_banner)

    def resume(self, item: recovery.InterruptedWork) -> None:
        """Carry on with ``item`` in its workspace (a page with nothing to do for it is simply shown)."""
        if item.workspace not in {s.name for s in self.specs}:
            return
        self.show_workspace(item.workspace).open_item(item)

    # -- workspaces --------------------------------------------------------------------------
    def page(self, name: str) -> WorkspacePage:
        """The workspace widget ``name``, built on first use so start-up stays fast."""
        if name not in self.pages:
            spec = next(s for s in self.specs if s.name == name)
            if spec.needs_store:
                _ = self.ctx.db   # opened first: see WorkspaceSpec.needs_store
            try:
                widget = as_workspace_page(spec.factory(self.ctx))
            except Exception as exc:
                log.exception("workspace %s failed to load", name)
                self.failed_pages[name] = f"{type(exc).__name__}: {exc}"
                # Escaped: the message and a third-party title are text, not markup (a "<b>" in
                # them would otherwise be rendered, and unbalanced tags hide the rest).
                message = QLabel(
                    f"<h3>The {html.escape(spec.title)} workspace could not be loaded</h3>"
                    f"<p><code>{html.escape(f'{type(exc).__name__}: {exc}')}</code></p>"
                    "<p>Details are in the log file.</p>"
                )
                from PySide6.QtCore import Qt

                message.setAlignment(Qt.AlignmentFlag.AlignCenter)
                message.setWordWrap(True)
                widget = HostedPage(message)
            self.pages[name] = widget
            self.stack.addWidget(widget)
        return self.pages[name]

    def current_workspace_name(self) -> str:
        row = self.nav.currentRow()
        return self.specs[row].name if 0 <= row < len(self.specs) else ""

    def _show_requested(self, name: str) -> None:
        try:
            self.show_workspace(name)
        except KeyError:
            self.statusBar().showMessage(f"The {name} workspace is not available.", 8000)

    def show_workspace(self, name: str) -> WorkspacePage:
        for row, spec in enumerate(self.specs):
            if spec.name == name:
                self.nav.setCurrentRow(row)
                return self.pages[name]
        raise KeyError(name)

    def _apply_icons(self) -> None:
        from PySide6.QtWidgets import QStyle

        for row, spec in enumerate(self.specs):
            if spec.icon and hasattr(QStyle.StandardPixmap, spec.icon):
                self.nav.item(row).setIcon(self.style().standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))

    def _route_broadcast(self, name: str, payload: object) -> None:
        """Deliver a broadcast to a listening workspace that has not been built yet.

        Pages already built receive it through their own connection; one built here missed this
        emission (Qt does not call slots connected during an emission), so it gets it directly.
        """
        for spec in self.specs:
            if name in spec.listens and spec.name not in self.pages and self.active:
                self.page(spec.name).on_broadcast(name, payload)

    def _show_row(self, row: int) -> None:
        if self.active and 0 <= row < len(self.specs):
            self.stack.setCurrentWidget(self.page(self.specs[row].name))
            # Saved at once, not only at a clean quit: after a crash the app reopens here too.
            QSettings().setValue("main/workspace", self.specs[row].name)

    # -- chrome ------------------------------------------------------------------------------
    def open_preferences(self) -> None:
        from deepones_gui.dialogs import PreferencesDialog

        PreferencesDialog(self.ctx, self).exec()

    def open_about(self) -> None:
        from deepones_gui.dialogs import AboutDialog

        AboutDialog(self.ctx, self).exec()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        prefs = file_menu.addAction("&Preferences…")
        _set_shortcut(prefs, "Ctrl+,")  # strings, not StandardKey: no enum set-up before the first frame
        prefs.triggered.connect(self.open_preferences)
        file_menu.addAction("Setup &wizard…").triggered.connect(self.open_wizard)
        open_dir = file_menu.addAction("Open &data folder")
        open_dir.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.data_dir))))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        _set_shortcut(quit_action, "Ctrl+Q")
        quit_action.triggered.connect(self.close)

        self.view_menu = self.menuBar().addMenu("&View")
        for row, spec in enumerate(self.specs):
            self._add_view_action(row, spec)

        help_menu = self.menuBar().addMenu("&Help")
        guide = help_menu.addAction("&User guide")
        _set_shortcut(guide, "F1")
        guide.triggered.connect(self.open_guide)
        help_menu.addAction("&Report a problem…").triggered.connect(self.report_problem)
        help_menu.addAction("&About DeepOnes Studio").triggered.connect(self.open_about)
        log_action = help_menu.addAction("Open &log file")
        log_action.triggered.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ctx.log_path or self.ctx.data_dir)))
        )

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.data_label = QLabel()
        self.model_label = QLabel()
        self.gpu_label = QLabel("GPU: checking…")
        for w in (self.data_label, self.model_label, self.gpu_label):
            w.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(w)
        self._refresh_status()
        self._gpu_timer = QTimer(self)
        self._gpu_timer.setInterval(GPU_REFRESH_MS)
        self._gpu_timer.timeout.connect(self._refresh_gpu)
        # NVML start-up can take a while (importing pynvml holds the GIL for ~100 ms): first reading
        # once the first workspace is up, off the GUI thread.
        QTimer.singleShot(1500, self._refresh_gpu)
        self._gpu_timer.start()
        self._gpu_busy = False

    def _refresh_status(self) -> None:
        self.data_label.setText(f"Data: {self.ctx.data_dir}")
        self.data_label.setToolTip(str(self.ctx.db_path))
        # Before the third-party plugins are loaded (the first frame), with the built-in backends;
        # add_third_party_workspaces refreshes it.
        designer = describe_model(self.ctx.settings.designer_model, third_party=plugins.third_party_loaded())
        self.model_label.setText(f"Designer: {designer}")

    def _refresh_gpu(self) -> None:
        if self._gpu_busy:
            return
        self._gpu_busy = True
        # owner=self: a reading that lands after the window is deleted is dropped (the slots are
        # wrapped by run_in_background, so Qt alone would still call them on the dead labels).
        run_in_background(_gpu_summary, on_result=self._gpu_shown, on_error=self._gpu_failed,
                          on_done=self._gpu_done, owner=self)

    def _gpu_shown(self, text: str) -> None:
        self.gpu_label.setText(f"GPU: {text}")

    def _gpu_failed(self, exc: BaseException, _tb: str) -> None:
        self.gpu_label.setText("GPU: unavailable")

    def _gpu_done(self) -> None:
        self._gpu_busy = False

    # -- state -------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        qs = QSettings()
        geometry = qs.value("main/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(self._first_size())
        state = qs.value("main/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = qs.value("main/splitter")
        if isinstance(split, QByteArray):
            self.splitter.restoreState(split)
        else:
            self.splitter.setSizes([180, 1100])

    def _first_size(self) -> QSize:
        """1280x800, or less on a smaller screen: the whole window, title bar included, stays on it.

        The margins leave room for the window manager's frame (a 1366x768 laptop with a taskbar
        has ~728 px of height for the window and its title bar).
        """
        available = self.screen().availableGeometry()
        return QSize(min(1280, available.width() - FRAME_ALLOWANCE.width()),
                     min(800, available.height() - FRAME_ALLOWANCE.height()))

    def save_state(self) -> None:
        qs = QSettings()
        qs.setValue("main/geometry", self.saveGeometry())
        qs.setValue("main/state", self.saveState())
        qs.setValue("main/splitter", self.splitter.saveState())
        row = self.nav.currentRow()
        if self.active and 0 <= row < len(self.specs):
            qs.setValue("main/workspace", self.specs[row].name)
        qs.sync()

    # -- files dropped on the window, first run, help (deepones_gui.window_extras) ----------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt naming
        from deepones_gui.window_extras import accepts

        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt naming
        from deepones_gui.window_extras import dropped_paths, handle_drop

        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            handle_drop(self, paths)

    def open_wizard(self) -> None:
        from deepones_gui.window_extras import open_wizard

        open_wizard(self)

    def open_guide(self) -> None:
        from deepones_gui.window_extras import open_guide

        open_guide(self)

    def report_problem(self) -> None:
        from deepones_gui.window_extras import report_problem

        report_problem(self)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if not all(page.can_close() for page in self.pages.values()):
            event.ignore()
            return
        self._gpu_timer.stop()
        self.save_state()
        recovery.end_session(self.ctx.data_dir)
        for page in self.pages.values():
            page.shutdown()
        super().closeEvent(event)


def _warm_store_wrapper(*, progress, partial, cancel) -> None:
    import sqlite_utils  # noqa: F401 - imported once here, off the GUI thread
