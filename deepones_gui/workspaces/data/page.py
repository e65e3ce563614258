"""The Data workspace page: facets | lazy table + stats/duplicates | detail pane, with review keys,
undo/redo, import with progress and Cancel, export, and a watch on changes made elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.datasets import curation, query
from backend.datasets.query import SampleFilter
from backend.datasets.schema import STATUSES
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.charts import CategoryReviewChart
from deepones_gui.workspaces.data.commands import EditFieldCommand, SetStatusCommand, TagCommand
from deepones_gui.workspaces.data.detail import DetailPane, EditDialog
from deepones_gui.workspaces.data.dialogs import ExportDialog
from deepones_gui.workspaces.data.duplicates import DuplicatesPanel
from deepones_gui.workspaces.data.facets import FacetTree
from deepones_gui.workspaces.data.snippet_delegate import SnippetDelegate
from deepones_gui.workspaces.data.table_model import COLUMNS, SampleTableModel, editor_choices
from deepones_gui.workspaces.data.transfer_strip import TransferStrip

REVIEW_KEYS = {Qt.Key.Key_A: "accepted", Qt.Key.Key_R: "rejected", Qt.Key.Key_F: "needs-fix",
               Qt.Key.Key_U: "unreviewed"}
WATCH_MS = 1000          # how often to look for changes made by other processes (PRAGMA data_version)
STATS_DEBOUNCE_MS = 250


class ChoiceDelegate(QStyledItemDelegate):
    """Kind and category are edited inline with a combo box."""

    def createEditor(self, parent, option, index):  # noqa: N802
        combo = QComboBox(parent)
        combo.setEditable(COLUMNS[index.column()][0] == "category")
        combo.addItems(editor_choices(COLUMNS[index.column()][0]))
        return combo

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole) or ""))

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class ReviewTable(QTableView):
    """The sample table; single keys review the selection while the table has focus."""

    def __init__(self, page: DataPage) -> None:
        super().__init__()
        self.page = page

    def keyPressEvent(self, event) -> None:  # noqa: N802
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier:
            key = event.key()
            if key in REVIEW_KEYS:
                self.page.review(REVIEW_KEYS[key])
                return
            if key == Qt.Key.Key_J:
                self.page.step(1)
                return
            if key == Qt.Key.Key_K:
                self.page.step(-1)
                return
            if key == Qt.Key.Key_T:
                self.page.ask_tag()
                return
            if key == Qt.Key.Key_N:
                self.page.detail.note.setFocus()
                self.page.detail.note.selectAll()
                return
            if key == Qt.Key.Key_E:
                self.page.edit_sample()
                return
        super().keyPressEvent(event)


class DataPage(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.db = ctx.db
        self.undo_stack = QUndoStack(self)
        self._stats_task = None
        self._stats_again = False
        self._ready = False
        self._cluster: tuple[int, ...] = ()
        self._data_version = self._read_data_version()
        self.model = SampleTableModel(self.db, ctx.open_db, self)
        self._build()
        self.model.countChanged.connect(self._show_count)
        self.model.editRequested.connect(self.apply_edit)
        self.model.firstPageLoaded.connect(self._select_after_filter)
        self._apply_filter()
        self._stats_timer = QTimer(self, singleShot=True, interval=STATS_DEBOUNCE_MS)
        self._stats_timer.timeout.connect(self.refresh_stats)
        self.refresh_stats()
        self._watch = QTimer(self, interval=WATCH_MS)
        self._watch.timeout.connect(self._check_external_changes)
        self._watch.start()
        # First run: the demo set, imported off the GUI thread.
        from backend.datasets.demo import demo_needed

        if demo_needed(self.db):
            self.start_import(None, demo=True)
        else:
            self._ready = True

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        bar = QHBoxLayout()
        self.import_button = QToolButton()
        self.import_button.setText("Import…")
        self.import_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.import_button.clicked.connect(self.choose_import)
        menu = QMenu(self.import_button)
        menu.addAction("Import files…", self.choose_import)
        menu.addAction("Import from Hugging Face…", self.choose_hub_import)
        self.import_button.setMenu(menu)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.choose_export)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search instructions and answers (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(280)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_filter)
        self.bulk_button = QToolButton()
        self.bulk_button.setText("Bulk")
        self.bulk_button.setToolTip("Apply to every sample matching the filter and search")
        self.bulk_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bulk = QMenu(self.bulk_button)
        for status in STATUSES:
            bulk.addAction(f"Mark all matching {status}", lambda s=status: self.review_matching(s))
        bulk.addSeparator()
        bulk.addAction("Tag all matching…", self.tag_matching)
        self.bulk_button.setMenu(bulk)
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        for action in (undo, redo):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.undo_button, self.redo_button = QToolButton(), QToolButton()
        self.undo_button.setDefaultAction(undo)
        self.redo_button.setDefaultAction(redo)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        self.count_label = QLabel()
        self.count_label.setMinimumWidth(150)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for w in (self.import_button, self.export_button):
            bar.addWidget(w)
        bar.addSpacing(8)
        bar.addWidget(self.search, 1)
        for w in (self.clear_button, self.bulk_button, self.undo_button, self.redo_button, self.count_label):
            bar.addWidget(w)
        outer.addLayout(bar)

        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        self.addAction(find)

        # Import/export progress strip (hidden when idle): progress, rate and ETA, Cancel.
        self.transfers = TransferStrip(self.ctx.open_db)
        self.transfers.importFinished.connect(self._import_finished)
        outer.addWidget(self.transfers)

        self.facets = FacetTree()
        self.facets.selectionChangedByUser.connect(self._apply_filter)
        self.facets.setMinimumWidth(200)

        self.table = ReviewTable(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setItemDelegateForColumn(2, ChoiceDelegate(self.table))
        self.table.setItemDelegateForColumn(3, ChoiceDelegate(self.table))
        self.table.setItemDelegateForColumn(4, SnippetDelegate(self.table))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        for col, width in enumerate((52, 90, 74, 150, 380, 110, 110)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        for col in (5, 6):  # dataset and note: one right-click away, so the question gets the room
            self.table.setColumnHidden(col, True)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_count(self.model.rowCount(), self.model.count_is_exact))

        self.chart = CategoryReviewChart()
        charts = self.chart
        self.duplicates = DuplicatesPanel(self.ctx.open_db, lambda: self.current_filter())
        self.duplicates.clusterChosen.connect(self.show_cluster)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(charts, "Stats")
        self.lower_tabs.addTab(self.duplicates, "Near-duplicates")

        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.table)
        centre.addWidget(self.lower_tabs)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 2)
        centre.setSizes([460, 270])

        self.detail = DetailPane()
        self.detail.statusRequested.connect(self.review)
        self.detail.tagRequested.connect(self.ask_tag)
        self.detail.noteSubmitted.connect(self.save_note)
        self.detail.editRequested.connect(self.edit_sample)
        self.detail.setMinimumWidth(320)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.facets)
        main.addWidget(centre)
        main.addWidget(self.detail)
        main.setStretchFactor(1, 3)
        main.setStretchFactor(2, 2)
        main.setSizes([215, 660, 400])
        main.setChildrenCollapsible(False)
        outer.addWidget(main, 1)

    def _column_menu(self, pos) -> None:
        menu = QMenu(self)
        for col, (_key, title) in enumerate(COLUMNS):
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(col))
            action.toggled.connect(lambda on, c=col: self.table.setColumnHidden(c, not on))
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    # -- filter ------------------------------------------------------------------------------
    def current_filter(self) -> SampleFilter:
        checked = self.facets.checked()
        text = self.search.text()
        words = re.findall(r"\w+", text)
        # A last word still being typed matches longer words, unless it is already a whole indexed
        # term (short prefixes expand to thousands of terms at millions of samples: slow).
        prefix = bool(words) and text[-1:].isalnum() and len(words[-1]) >= 4 \
            and not query.is_indexed_term(self.db, words[-1])
        return SampleFilter(kinds=checked.get("kind", ()), categories=checked.get("category", ()),
                            statuses=checked.get("status", ()), tags=checked.get("tag", ()),
                            datasets=checked.get("dataset", ()), query=text.strip(),
                            ids=self._cluster, prefix=prefix)

    def _apply_filter(self) -> None:
        self._keep_id = self._current_id()
        self.model.set_filter(self.current_filter())
        if not self.model.searching:
            self._select_after_filter()

    def _select_after_filter(self) -> None:
        """Keep the sample that was selected if it is still listed, else select the first."""
        keep = getattr(self, "_keep_id", None)
        row = self.model.row_of(keep) if keep is not None else None
        if self.model.rowCount():
            self.table.selectRow(row if row is not None else 0)
        else:
            self.detail.show_sample(None)

    def clear_filters(self) -> None:
        self._cluster = ()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.facets.clear_checks()

    def show_cluster(self, ids: tuple[int, ...]) -> None:
        self._cluster = tuple(ids)
        self._apply_filter()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and (self._cluster or self.search.text()):
            self.clear_filters()
            return
        super().keyPressEvent(event)

    def _show_count(self, n: int, exact: bool) -> None:
        selected = len(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else 0
        text = f"{n:,}{'' if exact else '+'} samples"
        if self.model.searching:
            text = "searching…"
        if self._cluster:
            text = f"cluster: {text}"
        if selected > 1:
            text += f" · {selected:,} selected"
        self.count_label.setText(text)

    # -- selection and detail ----------------------------------------------------------------
    def _current_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.sample_id(index.row()) if index.isValid() else None

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [sid for sid in (self.model.sample_id(r) for r in rows) if sid is not None]
        if not ids and (current := self._current_id()) is not None:
            ids = [current]
        return ids

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_detail(self.model.sample_id(current.row()) if current.isValid() else None)

    def show_detail(self, sample_id: int | None) -> None:
        if sample_id is None:
            self.detail.show_sample(None)
            return
        words = re.findall(r"\w+", self.search.text())
        self.detail.show_sample(query.get_sample(self.db, sample_id), curation.edit_history(self.db, sample_id),
                                highlight=words)

    def step(self, delta: int) -> None:
        row = self.table.currentIndex().row()
        target = max(0, min(self.model.rowCount() - 1, row + delta))
        if self.model.rowCount():
            self.table.selectRow(target)
            self.table.scrollTo(self.model.index(target, 0))

    # -- curation ----------------------------------------------------------------------------
    def _changed(self, ids) -> None:
        """Called by every undo command after it writes: refresh rows, detail, stats and facets."""
        self.model.refresh_ids(ids)
        current = self._current_id()
        if current is not None and current in set(ids):
            self.show_detail(current)
        self._data_version = self._read_data_version()
        self._stats_timer.start()

    def review(self, status: str) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        self.undo_stack.push(SetStatusCommand(self.db, ids, status, self._changed))
        if len(ids) == 1:
            self.step(1)  # keyboard review flows down the list

    def ask_tag(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        tag, ok = QInputDialog.getText(self, "Tag", f"Tag for {len(ids):,} sample(s) (prefix with - to remove):")
        if ok and tag.strip():
            self.tag(ids, tag.strip())

    def tag(self, ids: list[int], tag: str) -> None:
        remove = tag.startswith("-")
        self.undo_stack.push(TagCommand(self.db, ids, tag.lstrip("-").strip(), self._changed, remove=remove))

    def save_note(self, note: str) -> None:
        sid = self._current_id()
        if sid is not None:
            self.apply_edit(sid, "note", note)
            self.table.setFocus()

    def apply_edit(self, sample_id: int, field: str, value: str) -> bool:
        try:
            old = curation.edit_field(self.db, sample_id, field, value)
        except curation.CurationError as exc:
            QMessageBox.warning(self, "Edit not applied", str(exc))
            return False
        if old != value:
            self.undo_stack.push(EditFieldCommand(self.db, sample_id, field, value, self._changed, old))
        return True

    def edit_sample(self) -> None:
        sid = self._current_id()
        sample = query.get_sample(self.db, sid) if sid is not None else None
        if sample is None:
            return
        dialog = EditDialog(sample, self)
        if dialog.exec():
            changes = dialog.changes()
            if changes:
                self.undo_stack.beginMacro(f"Edit #{sid}")
                for field, value in changes.items():
                    if not self.apply_edit(sid, field, value):
                        break
                self.undo_stack.endMacro()

    def review_matching(self, status: str) -> None:
        flt = self.current_filter()
        n = self.model.rowCount()
        if n > 1000 and QMessageBox.question(
                self, "Bulk review", f"Mark all {n:,} matching samples {status}? (Undo puts them back.)") \
                != QMessageBox.StandardButton.Yes:
            return
        self.count_label.setText(f"Marking {n:,} samples {status}…")

        def done(previous) -> None:
            ids = [i for arr in previous.values() for i in arr]
            self.undo_stack.push(SetStatusCommand(self.db, ids, status, self._changed, previous=previous))
            self.model.reload()

        run_in_background(tasks.status_matching, self.ctx.open_db, flt, status, on_result=done,
                          on_error=lambda exc, _tb: QMessageBox.warning(self, "Bulk review failed", str(exc)))

    def tag_matching(self) -> None:
        tag, ok = QInputDialog.getText(self, "Tag all matching", f"Tag for all {self.model.rowCount():,} matching samples:")
        if ok and tag.strip():
            self.start_tag_matching(tag.strip())

    def start_tag_matching(self, tag: str):
        """Tag everything matching the filter on a worker thread; undoable like any tag."""
        def done(added: list[int]) -> None:
            self.undo_stack.push(TagCommand(self.db, added, tag, self._changed, touched=added))
            self.model.reload()

        return run_in_background(tasks.tag_matching, self.ctx.open_db, self.current_filter(), tag, on_result=done,
                                 on_error=lambda exc, _tb: QMessageBox.warning(self, "Tagging failed", str(exc)))

    # -- stats and external changes ---------------------------------------------------------
    def refresh_stats(self) -> None:
        if self._stats_task is not None:
            self._stats_again = True
            return

        def done() -> None:
            self._stats_task = None
            if self._stats_again:
                self._stats_again = False
                self.refresh_stats()

        self._stats_task = run_in_background(tasks.overview, self.ctx.open_db, on_result=self._show_stats,
                                             on_done=done)

    def _show_stats(self, st: dict) -> None:
        self.chart.set_data(st)
        self.facets.set_counts(st)
        self._stats_shown = True

    def _read_data_version(self) -> int:
        return self.db.conn.execute("PRAGMA data_version").fetchone()[0]

    def _check_external_changes(self) -> None:
        if self.transfers.import_task is not None:
            return  # our own import: the view refreshes once it finishes, not on every batch
        version = self._read_data_version()
        if version != self._data_version:
            self._data_version = version
            self.model.reload()
            self.show_detail(self._current_id())
            self._stats_timer.start()

    # -- import ------------------------------------------------------------------------------
    def choose_import(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import samples", str(Path.home()),
                                                "Data (*.json *.jsonl *.parquet);;All files (*)")
        if files:
            self.start_import(files)

    def choose_hub_import(self) -> None:
        repo, ok = QInputDialog.getText(self, "Import from Hugging Face",
                                        "Dataset repo (owner/name). Works offline from the local cache:")
        if ok and repo.strip():
            self.start_import([f"hf://{repo.strip()}"])

    def start_import(self, paths: list[str] | None, *, demo: bool = False, fmt: str = "auto",
                     dataset: str | None = None) -> None:
        self.transfers.start_import(paths, demo=demo, fmt=fmt, dataset=dataset)

    def _import_finished(self) -> None:
        self._ready = True
        self._data_version = self._read_data_version()
        self.model.reload()
        if self.table.currentIndex().row() < 0 and self.model.rowCount():
            self.table.selectRow(0)
        self.refresh_stats()

    # -- export ------------------------------------------------------------------------------
    def choose_export(self) -> None:
        flt = self.current_filter()
        accepted = query.count(self.db, SampleFilter(**{**flt.__dict__, "statuses": ("accepted",)})) \
            if self.model.rowCount() < 200_000 else None
        dialog = ExportDialog(self.model.rowCount(), accepted, Path.home(), self)
        if dialog.exec():
            self.start_export(dialog.choice())

    def start_export(self, choice: dict) -> None:
        flt = self.current_filter()
        if choice["accepted_only"]:
            flt = SampleFilter(**{**flt.__dict__, "statuses": ("accepted",)})
        self.transfers.start_export(flt, choice)

    # -- page protocol -----------------------------------------------------------------------
    def screenshot_ready(self) -> bool:
        return self._ready and self.transfers.import_task is None and self._stats_task is None

    def prepare_screenshot(self) -> None:
        """A demo-worthy state: some review progress, an MCQ in the detail pane (screenshot data dir only)."""
        from deepones_gui.concurrent import wait_for_background_tasks

        for _ in range(100):
            if self.transfers.import_task is None:
                break
            wait_for_background_tasks(100)
            from PySide6.QtWidgets import QApplication

            QApplication.processEvents()
        rows = self.db.conn.execute("SELECT id, kind FROM samples ORDER BY id").fetchall()
        ids = [r[0] for r in rows]
        curation.set_status(self.db, ids[0:220:3], "accepted")
        curation.set_status(self.db, ids[1:220:11], "rejected")
        curation.set_status(self.db, ids[2:220:13], "needs-fix")
        curation.add_tag(self.db, ids[0:220:9], "good-example")
        self._data_version = self._read_data_version()
        self.model.reload()
        self.refresh_stats()
        mcq = next((i for i, (sid, kind) in enumerate(rows) if kind == "mcq"), 0)
        curation.edit_field(self.db, rows[mcq][0], "note", "Distractors B and D are too easy; keep for now")
        self.table.selectRow(mcq)
        self.table.scrollTo(self.model.index(mcq, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()

    def can_close(self) -> bool:
        if self.transfers.import_task is None:
            return True
        answer = QMessageBox.question(self, "Import running",
                                      "An import is running. Cancel it and close? Completed batches are kept.")
        if answer == QMessageBox.StandardButton.Yes:
            self.transfers.cancel_import()
            return True
        return False

    def shutdown(self) -> None:
        self._watch.stop()
        self._stats_timer.stop()
        self._search_timer.stop()
        self.model.stop()
        self.duplicates.shutdown()
        self.transfers.shutdown()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)  # let counts/stats finish before their signal objects go away
