"""The Data workspace page: facets | lazy table + stats/duplicates | detail pane, with review keys,
undo/redo, import with progress and Cancel, the search index built behind the rows, export, and
a watch on changes made elsewhere. Curation lives in ``curation_actions``, the bar in ``toolbar``,
the table in ``review_table``; views call backend functions, workers open their own connection."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend.datasets import curation, query
from backend.datasets.query import SampleFilter
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.charts import CategoryReviewChart
from deepones_gui.workspaces.data.commands import Bulk
from deepones_gui.workspaces.data.curation_actions import CurationActions
from deepones_gui.workspaces.data.detail import DetailPane
from deepones_gui.workspaces.data.dialogs import ExportDialog
from deepones_gui.workspaces.data.duplicates import DuplicatesPanel
from deepones_gui.workspaces.data.facets import FacetTree
from deepones_gui.workspaces.data.map_panel import MapPanel
from deepones_gui.workspaces.data.review_table import ReviewTable
from deepones_gui.workspaces.data.table_model import SampleTableModel
from deepones_gui.workspaces.data.toolbar import DataToolbar
from deepones_gui.workspaces.data.transfer_strip import TransferStrip

WATCH_MS = 1000          # how often to look for changes made by other processes (PRAGMA data_version)
STATS_DEBOUNCE_MS = 250


class DataPage(CurationActions, QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.db = ctx.db
        self.db_path = ctx.db_path
        self.undo_stack = QUndoStack(self)
        self.bulk = Bulk(self.db_path, self.run_bulk)
        self._bulk_running = False
        self._stats_task = None
        self._stats_again = False
        self._ready = False
        self._cluster: tuple[int, ...] = ()
        self._cluster_name = "cluster"   # or "map selection": what the ids filter came from
        self.detail_sample_id: int | None = None
        self.coverage = None   # backend.datasets.indexing.Coverage of the last stats refresh
        self._data_version = query.data_version(self.db)
        self.model = SampleTableModel(self.db, self.db_path, self)
        self._build()
        self.model.countChanged.connect(self._show_count)
        self.model.editRequested.connect(self.apply_edit)
        self.model.firstPageLoaded.connect(self._select_after_filter)
        self._stats_timer = QTimer(self, singleShot=True, interval=STATS_DEBOUNCE_MS)
        self._stats_timer.timeout.connect(self.refresh_stats)
        self._apply_filter()
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
        self.toolbar = DataToolbar(
            self.undo_stack, on_import=self.choose_import, on_hub_import=self.choose_hub_import,
            on_export=self.choose_export, on_clear=self.clear_filters, on_bulk_status=self.review_matching,
            on_bulk_tag=self.tag_matching, on_undo=self.undo, on_redo=self.redo)
        self.search = self.toolbar.search
        self.count_label = self.toolbar.count_label
        self.undo_button, self.redo_button = self.toolbar.undo_button, self.toolbar.redo_button
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_filter)
        outer.addWidget(self.toolbar)
        for action in (self.toolbar.undo_action, self.toolbar.redo_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

        # Window-wide while this page is shown (a hidden page's actions are inactive), so Ctrl+F
        # works right after Ctrl+2, before anything on the page has focus.
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        find.triggered.connect(self.focus_search)
        self.addAction(find)

        # Import/export/index progress strip (hidden when idle): progress, rate and ETA, Cancel.
        self.transfers = TransferStrip(self.db_path)
        self.transfers.importFinished.connect(self._import_finished)
        self.transfers.indexFinished.connect(self._index_finished)
        outer.addWidget(self.transfers)

        self.facets = FacetTree()
        self.facets.selectionChangedByUser.connect(self._apply_filter)

        self.table = ReviewTable(self)
        self.table.setModel(self.model)
        self.table.setup_columns()
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self._show_count(self.model.rowCount(), self.model.count_is_exact))

        self.chart = CategoryReviewChart()
        self.duplicates = DuplicatesPanel(self.db_path, lambda: self.current_filter())
        self.duplicates.clusterChosen.connect(self.show_cluster)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.chart, "Stats")
        self.lower_tabs.addTab(self.duplicates, "Near-duplicates")

        # Table | Map: the map's selection becomes the table's (a filter on its ids), see _map_selection.
        self.map_panel = MapPanel(self.db, self.db_path)
        self.map_panel.selectionChanged.connect(self._map_selection)
        self.map_panel.sampleClicked.connect(self.show_detail)
        self.map_panel.reviewRequested.connect(self.review)
        self.map_panel.tagRequested.connect(self.ask_tag)
        self.map_panel.current_sample = lambda: self.detail_sample_id
        self.views = QTabWidget()
        self.views.addTab(self.table, "Table")
        self.views.addTab(self.map_panel, "Map")
        self.views.currentChanged.connect(lambda i: self.map_panel.ensure_loaded() if i == 1 else None)
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.views)
        centre.addWidget(self.lower_tabs)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 2)
        centre.setSizes([460, 270])

        self.detail = DetailPane()
        self.detail.statusRequested.connect(self.review)
        self.detail.tagRequested.connect(self.ask_tag)
        self.detail.noteSubmitted.connect(self.save_note)
        self.detail.editRequested.connect(self.edit_sample)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.facets)
        main.addWidget(centre)
        main.addWidget(self.detail)
        main.setStretchFactor(1, 3)
        main.setStretchFactor(2, 2)
        main.setSizes([self.facets.minimumWidth(), 640, self.detail.minimumWidth()])
        main.setChildrenCollapsible(False)
        outer.addWidget(main, 1)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- filter ------------------------------------------------------------------------------
    def current_filter(self) -> SampleFilter:
        checked = self.facets.checked()
        return SampleFilter(kinds=checked.get("kind", ()), categories=checked.get("category", ()),
                            statuses=checked.get("status", ()), tags=checked.get("tag", ()),
                            datasets=checked.get("dataset", ()), traits=checked.get("trait", ()),
                            ids=self._cluster, **self._search_terms())

    def _search_terms(self) -> dict:
        text = self.search.text()
        words = re.findall(r"\w+", text)
        # A last word still being typed matches longer words, unless it is already a whole indexed
        # term (short prefixes expand to thousands of terms at millions of samples: slow).
        prefix = bool(words) and text[-1:].isalnum() and len(words[-1]) >= 4 \
            and not query.is_indexed_term(self.db, words[-1])
        return {"query": text.strip(), "prefix": prefix}

    def _apply_filter(self) -> None:
        self._keep_id = self._current_id()
        flt = self.current_filter()
        self.model.set_filter(flt)
        self.table.fit_match_column(bool(flt.query))
        self.map_panel.set_filter(flt)
        if not self.model.searching:
            self._select_after_filter()
        self._stats_timer.start()  # facet counts follow the search

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

    def show_cluster(self, ids: tuple[int, ...], name: str = "cluster") -> None:
        self._cluster = tuple(ids)
        self._cluster_name = name
        self._apply_filter()

    def _changed(self, ids) -> None:
        super()._changed(ids)
        self.map_panel.data_changed()

    def _map_selection(self, ids) -> None:
        self.show_cluster(tuple(int(i) for i in ids), "map selection")

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and (self._cluster or self.search.text()):
            self.clear_filters()
            return
        super().keyPressEvent(event)

    def _show_count(self, n: int, exact: bool) -> None:
        selected = len(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else 0
        text = f"{n:,}{'' if exact else '+'} sample{'' if n == 1 and exact else 's'}"
        if self.model.searching:
            text = "searching…"
        if self._cluster:
            text = f"{self._cluster_name}: {text}"
        if selected > 1:
            text += f" · {selected:,} selected"
        self.count_label.setText(text)
        self.count_label.setToolTip("")
        if self.model.filter.query and self.coverage is not None and not self.coverage.complete:
            self.count_label.setText(f"{text} · still indexing")
            self.count_label.setToolTip(self.coverage.describe())

    # -- selection and detail ----------------------------------------------------------------
    def _current_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.sample_id(index.row()) if index.isValid() else None

    def selected_ids(self) -> list[int]:
        if self.views.currentWidget() is self.map_panel and self.map_panel.selected_ids():
            return self.map_panel.selected_ids()
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [sid for sid in (self.model.sample_id(r) for r in rows) if sid is not None]
        if not ids and (current := self._current_id()) is not None:
            ids = [current]
        return ids

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_detail(self.model.sample_id(current.row()) if current.isValid() else None)

    def show_detail(self, sample_id: int | None) -> None:
        self.detail_sample_id = sample_id
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

    # -- stats, index coverage and external changes ------------------------------------------
    def refresh_stats(self) -> None:
        if self._stats_task is not None:
            self._stats_again = True
            return

        def done() -> None:
            self._stats_task = None
            if self._stats_again:
                self._stats_again = False
                self.refresh_stats()

        # Facet counts follow the search and a near-duplicate cluster, not the facet checks
        # themselves (checking a value must not hide its neighbours).
        flt = SampleFilter(ids=self._cluster, **self._search_terms())
        self._stats_task = run_in_background(tasks.overview, self.db_path, flt, on_result=self._show_stats,
                                             on_done=done)

    def _show_stats(self, st: dict) -> None:
        self.chart.set_data(st)
        self.facets.set_counts(st)
        self.coverage = st.get("coverage")
        self._show_count(self.model.rowCount(), self.model.count_is_exact)
        if self.coverage is not None and not self.coverage.complete and self._ready \
                and self.transfers.import_task is None and not self.transfers.index_failed:
            self.transfers.start_index()  # rows from an interrupted or outside import: catch up

    def _check_external_changes(self) -> None:
        if self.transfers.import_task is not None or self._bulk_running:
            return  # our own writes: the view refreshes once they finish, not on every batch
        version = query.data_version(self.db)
        if version != self._data_version:
            self._data_version = version
            if self.transfers.index_task is not None:
                return  # the indexer changes only the search index, not what the table shows
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
        self.map_panel.data_changed(new_samples=True)
        self._data_version = query.data_version(self.db)
        self.model.reload()
        if self.table.currentIndex().row() < 0 and self.model.rowCount():
            self.table.selectRow(0)
        self.refresh_stats()
        self.transfers.start_index()  # rows are browsable now; search catches up behind them

    def _index_finished(self) -> None:
        self._data_version = query.data_version(self.db)
        if self.model.filter.query:
            self.model.set_filter(self.current_filter())  # matches in the newly indexed rows
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
        return self._ready and not self.transfers.busy and self._stats_task is None

    def prepare_screenshot(self) -> None:
        """A demo-worthy state: some review progress, an MCQ in the detail pane (screenshot data dir only)."""
        from PySide6.QtWidgets import QApplication

        from deepones_gui.concurrent import wait_for_background_tasks

        for _ in range(100):
            if not self.transfers.busy:
                break
            wait_for_background_tasks(100)
            QApplication.processEvents()
        rows = query.first_ids(self.db, 100_000)
        ids = [r[0] for r in rows]
        curation.set_status(self.db, ids[0:220:3], "accepted")
        curation.set_status(self.db, ids[1:220:11], "rejected")
        curation.set_status(self.db, ids[2:220:13], "needs-fix")
        curation.add_tag(self.db, ids[0:220:9], "good-example")
        self._data_version = query.data_version(self.db)
        self.model.reload()
        self.refresh_stats()
        mcq = next((i for i, (_sid, kind) in enumerate(rows) if kind == "mcq"), 0)
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
        if getattr(self, "_shut_down", False):
            return  # the window and a test may both close the page
        self._shut_down = True
        self._watch.stop()
        self._stats_timer.stop()
        self._search_timer.stop()
        self.model.stop()
        self.duplicates.shutdown()
        self.map_panel.shutdown()
        for signal in (self.transfers.importFinished, self.transfers.indexFinished):
            signal.disconnect()  # a task finishing after this must not touch the closed store
        self.transfers.shutdown()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)  # let counts/stats finish before their signal objects go away
