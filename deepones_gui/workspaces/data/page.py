"""The Data workspace page: facets | lazy table + stats/duplicates | detail pane, with review keys,
undo/redo, import with progress and Cancel, the search index built behind the rows, export, and
a watch on changes made elsewhere.

The page lays out and wires its parts: the state and rules it shows live in ``session.DataSession``
(Qt-free), curation in ``curation_actions.Curation``, the bar in ``toolbar``, the table in
``review_table``. Children report with signals; none of them imports this module."""

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
)

from backend.datasets.query import SampleFilter
from backend.recovery import InterruptedWork
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.workspaces.data import tasks
from deepones_gui.workspaces.data.charts import CategoryReviewChart
from deepones_gui.workspaces.data.commands import BULK_THRESHOLD
from deepones_gui.workspaces.data.curation_actions import Curation
from deepones_gui.workspaces.data.detail import DetailPane
from deepones_gui.workspaces.data.dialogs import ExportDialog
from deepones_gui.workspaces.data.duplicates import DuplicatesPanel
from deepones_gui.workspaces.data.facets import FacetTree
from deepones_gui.workspaces.data.map_panel import MapPanel
from deepones_gui.workspaces.data.review_table import ReviewTable
from deepones_gui.workspaces.data.session import DataSession
from deepones_gui.workspaces.data.table_model import SampleTableModel
from deepones_gui.workspaces.data.toolbar import DataToolbar
from deepones_gui.workspaces.data.transfer_strip import TransferStrip
from deepones_gui.workspaces.page_protocol import WorkspacePage

WATCH_MS = 1000          # how often to look for changes made by other processes (PRAGMA data_version)
STATS_DEBOUNCE_MS = 250
# The sample pane's first width (the splitter keeps what the user drags it to): wide enough for its
# provenance lines and review buttons two by two.
DETAIL_WIDTH = 380


class DataPage(WorkspacePage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.db = ctx.db
        self.db_path = ctx.db_path
        self.session = DataSession(self.db, self.db_path)
        self.undo_stack = QUndoStack(self)
        self._stats_task = None
        self._stats_again = False
        self._keep_id: int | None = None
        self.model = SampleTableModel(self.db, self.db_path, self)
        self._build()
        self.curation = Curation(self.session, self.undo_stack, self.transfers, self)
        self.curation.changed.connect(self._changed)
        self.curation.reloadNeeded.connect(self.model.reload)
        self.curation.busy.connect(self.count_label.setText)
        self.model.countChanged.connect(self._show_count)
        self.model.editRequested.connect(self.apply_edit)
        self.model.firstPageLoaded.connect(self._select_after_filter)
        self._stats_timer = QTimer(self, singleShot=True, interval=STATS_DEBOUNCE_MS)
        self._stats_timer.timeout.connect(self.refresh_stats)
        self.apply_filter()
        self.refresh_stats()
        self._watch = QTimer(self, interval=WATCH_MS)
        self._watch.timeout.connect(self._check_external_changes)
        self._watch.start()
        ctx.broadcast.connect(self.on_broadcast)   # Generate: "open_sample", "filter_data_by_paper"
        if not self.session.first_import_done:   # first run: the demo set, imported off the GUI thread
            self.start_import(None, demo=True)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        self.toolbar = DataToolbar(self.undo_stack)
        bar = self.toolbar
        for signal, slot in ((bar.importRequested, self.choose_import), (bar.hubImportRequested, self.choose_hub_import),
                             (bar.exportRequested, self.choose_export), (bar.clearRequested, self.clear_filters),
                             (bar.bulkStatusRequested, self.review_matching), (bar.bulkTagRequested, self.tag_matching),
                             (bar.undoRequested, self.undo), (bar.redoRequested, self.redo),
                             (bar.trainRequested, self.train_on)):
            signal.connect(slot)
        self.search = self.toolbar.search
        self.count_label = self.toolbar.count_label
        self.undo_button, self.redo_button = self.toolbar.undo_button, self.toolbar.redo_button
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.apply_filter)
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
        self.facets.selectionChangedByUser.connect(self.apply_filter)

        self.table = ReviewTable()
        self.table.setModel(self.model)
        self.table.setup_columns()
        self.table.reviewRequested.connect(self.review)
        self.table.stepRequested.connect(self.step)
        self.table.tagRequested.connect(self.ask_tag)
        self.table.noteRequested.connect(self.focus_note)
        self.table.editRequested.connect(self.edit_sample)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self._show_count(self.model.rowCount(), self.model.count_is_exact))

        self.chart = CategoryReviewChart()
        self.duplicates = DuplicatesPanel(self.db_path)
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
        self.detail.paperFilterRequested.connect(self.filter_by_paper)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.facets)
        main.addWidget(centre)
        main.addWidget(self.detail)
        main.setStretchFactor(1, 3)
        main.setStretchFactor(2, 2)
        main.setSizes([self.facets.minimumWidth(), 640, max(self.detail.minimumWidth(), DETAIL_WIDTH)])
        main.setChildrenCollapsible(False)
        outer.addWidget(main, 1)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- filter ------------------------------------------------------------------------------
    def current_filter(self) -> SampleFilter:
        return self.session.filter_for(self.facets.checked(), self.search.text())

    def apply_filter(self) -> None:
        """Show the rows matching the facets, the search box and the cluster (after any change to them)."""
        self._keep_id = self._current_id()
        flt = self.current_filter()
        self.model.set_filter(flt)
        self.table.fit_match_column(bool(flt.query))
        self.map_panel.set_filter(flt)
        self.duplicates.filter = flt
        if not self.model.searching:
            self._select_after_filter()
        self._stats_timer.start()  # facet counts follow the search

    def _select_after_filter(self) -> None:
        """Keep the sample that was selected if it is still listed, else select the first."""
        keep = self._keep_id
        row = self.model.row_of(keep) if keep is not None else None
        if self.model.rowCount():
            self.table.selectRow(row if row is not None else 0)
        else:
            self.detail.show_sample(None)

    def clear_filters(self) -> None:
        self.session.clear_narrowing()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.facets.clear_checks()

    def filter_by_paper(self, paper_id: str, sample_id: int | None = None) -> None:
        """Only this paper's generated samples (every other filter cleared), keeping ``sample_id``
        (else the current sample) selected when it is one of them."""
        self._keep_id = sample_id if sample_id is not None else self._current_id()
        self.session.clear_narrowing()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        for key in self.facets.groups:
            self.facets.set_checked(key, (), notify=False)
        # Listed at once (its count follows with the next stats refresh), so it can be checked now.
        self.facets.ensure_value("paper", paper_id, self.session.paper_label(paper_id))
        self.facets.set_checked("paper", (paper_id,), notify=False)
        keep = self._keep_id
        self.apply_filter()
        self._keep_id = keep
        self._select_after_filter()

    def open_sample(self, sample_id: int) -> None:
        """Show one sample with its provenance: Data narrowed to its paper (or to it alone when it was
        not generated), the sample selected."""
        paper = self.session.paper_of(sample_id)
        if paper is not None:
            self.filter_by_paper(paper, sample_id)
            return
        self.clear_filters()
        self.show_cluster((sample_id,))

    def on_broadcast(self, name: str, payload: object) -> None:
        if not isinstance(payload, dict):
            return
        if name == "open_sample" and isinstance(payload.get("sample_id"), int):
            self.open_sample(payload["sample_id"])
        elif name == "filter_data_by_paper" and payload.get("paper_id"):
            self.filter_by_paper(str(payload["paper_id"]))

    def show_cluster(self, ids: tuple[int, ...], name: str = "cluster") -> None:
        self.session.narrow_to(ids, name)
        self.apply_filter()

    def _changed(self, ids: list[int]) -> None:
        """After every curation write (a command, its undo or redo): rows, detail, stats and the map."""
        if len(ids) > BULK_THRESHOLD:
            self.model.reload()  # cheaper than matching millions of ids against the cached pages
        else:
            self.model.refresh_ids(ids)
        current = self._current_id()
        if current is not None and (len(ids) > BULK_THRESHOLD or current in set(ids)):
            self.show_detail(current)
        self._stats_timer.start()
        self.map_panel.data_changed()

    def _map_selection(self, ids) -> None:
        self.show_cluster(tuple(int(i) for i in ids), "map selection")

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and (self.session.cluster or self.search.text()):
            self.clear_filters()
            return
        super().keyPressEvent(event)

    def _show_count(self, n: int, exact: bool) -> None:
        selected = len(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else 0
        line = self.session.count_line(n, exact, selected=selected, searching=self.model.searching,
                                       query_text=self.model.filter.query)
        self.count_label.setText(line.text)
        self.count_label.setToolTip(line.tooltip)

    # -- selection and detail ----------------------------------------------------------------
    def _current_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.sample_id(index.row()) if index.isValid() else None

    def train_on(self, selected_only: bool = False) -> None:
        """"Train on these": Train's data picker gets this filter (or the selected rows) and opens."""
        from backend.train.data import filter_to_text

        if selected_only:
            ids = tuple(self.selected_ids())
            if not ids:
                return
            flt, description = SampleFilter(ids=ids), f"{len(ids)} selected sample{'s' if len(ids) != 1 else ''}"
        else:
            flt = self.current_filter()
            shown = self.count_label.text().strip()
            description = f"{filter_to_text(flt)}" + (f" ({shown})" if shown else "")
        self.ctx.broadcast.emit("train_on", {"filter": filter_to_text(flt), "description": description})

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
        self.session.detail_sample_id = self.map_panel.current_sample = sample_id
        if sample_id is None:
            self.detail.show_sample(None)
            return
        sample, history = self.session.sample_with_history(sample_id)
        self.detail.show_sample(sample, history, highlight=re.findall(r"\w+", self.search.text()))

    def select_sample(self, sample_id: int) -> bool:
        """Select ``sample_id`` among the rows shown, centred in the table; False when it is not shown."""
        row = self.model.row_of(sample_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()
        return True

    def step(self, delta: int) -> None:
        row = self.table.currentIndex().row()
        target = max(0, min(self.model.rowCount() - 1, row + delta))
        if self.model.rowCount():
            self.table.selectRow(target)
            self.table.scrollTo(self.model.index(target, 0))

    # -- curation: on the selection (the table's or the map's) or on everything matching ------------
    def review(self, status: str) -> None:
        ids = self.selected_ids()
        self.curation.review(ids, status)
        if len(ids) == 1:
            self.step(1)  # keyboard review flows down the list

    def ask_tag(self) -> None:
        self.curation.ask_tag(self.selected_ids())

    def tag(self, ids: list[int], tag: str) -> None:
        self.curation.tag(ids, tag)

    def apply_edit(self, sample_id: int, field: str, value: str) -> bool:
        return self.curation.apply_edit(sample_id, field, value)

    def edit_sample(self) -> None:
        self.curation.edit_sample(self._current_id())

    def focus_note(self) -> None:
        self.detail.note.setFocus()
        self.detail.note.selectAll()

    def save_note(self, note: str) -> None:
        sid = self._current_id()
        if sid is not None:
            self.apply_edit(sid, "note", note)
            self.table.setFocus()

    def review_matching(self, status: str) -> None:
        self.curation.review_matching(self.current_filter(), self.model.rowCount(), status)

    def tag_matching(self) -> None:
        self.curation.tag_matching(self.current_filter(), self.model.rowCount())

    def start_tag_matching(self, tag: str):
        return self.curation.start_tag_matching(self.current_filter(), tag)

    def undo(self) -> None:
        self.curation.undo()

    def redo(self) -> None:
        self.curation.redo()

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

        flt = self.session.stats_filter(self.search.text())
        self._stats_task = run_in_background(tasks.overview, self.db_path, flt, on_result=self._show_stats,
                                             on_done=done)

    def _show_stats(self, st: dict) -> None:
        self.chart.set_data(st)
        self.facets.set_counts(st)
        self.session.coverage = st.get("coverage")
        self._show_count(self.model.rowCount(), self.model.count_is_exact)
        if self.session.index_behind() and self.transfers.import_task is None and not self.transfers.index_failed:
            self.transfers.start_index()  # rows from an interrupted or outside import: catch up

    def _check_external_changes(self) -> None:
        if self.transfers.import_task is not None or self.session.bulk_running:
            return  # our own writes: the view refreshes once they finish, not on every batch
        if self.session.changed_elsewhere():
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
        self.session.first_import_done = True
        self.map_panel.data_changed(new_samples=True)
        self.session.mark_seen()
        self.model.reload()
        if self.table.currentIndex().row() < 0 and self.model.rowCount():
            self.table.selectRow(0)
        self.refresh_stats()
        self.transfers.start_index()  # rows are browsable now; search catches up behind them

    def _index_finished(self) -> None:
        self.session.mark_seen()
        if self.model.filter.query:
            self.model.set_filter(self.current_filter())  # matches in the newly indexed rows
        self.refresh_stats()

    # -- export ------------------------------------------------------------------------------
    def choose_export(self) -> None:
        accepted = self.session.accepted_count(self.current_filter(), self.model.rowCount())
        dialog = ExportDialog(self.model.rowCount(), accepted, Path.home(), self)
        if dialog.exec():
            self.start_export(dialog.choice())

    def start_export(self, choice: dict) -> None:
        flt = self.current_filter()
        if choice["accepted_only"]:
            flt = self.session.accepted_only(flt)
        self.transfers.start_export(flt, choice)

    # -- page protocol -----------------------------------------------------------------------
    def ready(self) -> bool:
        return self.session.first_import_done and not self.transfers.busy and self._stats_task is None

    def open_item(self, item: InterruptedWork) -> bool:
        if item.kind != "import":
            return False
        target = item.target
        self.start_import([target["source"]], dataset=target["dataset"], fmt=target["format"] or "auto")
        return True

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
        self.ctx.broadcast.disconnect(self.on_broadcast)
        for signal in (self.transfers.importFinished, self.transfers.indexFinished):
            signal.disconnect()  # a task finishing after this must not touch the closed store
        self.transfers.shutdown()
        from deepones_gui.concurrent import wait_for_background_tasks

        wait_for_background_tasks(5000)  # let counts/stats finish before their signal objects go away
