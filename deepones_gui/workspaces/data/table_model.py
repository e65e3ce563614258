"""A lazy table model over the samples table: pages fetched on demand, never all rows.

Pages of ``PAGE_SIZE`` rows are cached (LRU, bounded), fetched by keyset from a neighbouring
cached page when there is one (fast at any depth), else by OFFSET on a worker thread with
"…" placeholders meanwhile, so a jump to row 3,000,000 never freezes the window. The first
page is read synchronously (one indexed LIMIT query) and the exact count arrives from a worker.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, Signal

from backend.datasets import query
from backend.datasets.query import HIGHLIGHT_END, HIGHLIGHT_START, SampleFilter
from backend.datasets.schema import CATEGORIES, KINDS
from deepones_gui.concurrent import run_in_background
from deepones_gui.workspaces.data import tasks

if TYPE_CHECKING:
    import sqlite_utils

PAGE_SIZE = 200
MAX_PAGES = 40          # 8,000 rows cached at most: memory stays flat however far you scroll
PLACEHOLDER = "…"
COUNT_DELAY_MS = 30
STATUS_MARK = {"unreviewed": "", "accepted": "✔ accepted", "rejected": "✘ rejected", "needs-fix": "✎ needs fix",
               "generated": "✦ generated"}

COLUMNS = [
    ("id", "ID"), ("status", "Status"), ("kind", "Kind"), ("category", "Category"),
    ("instruction", "Question"), ("dataset", "Dataset"), ("note", "Note"),
]
EDITABLE = {"kind", "category"}
SampleIdRole = Qt.ItemDataRole.UserRole + 1
SnippetRole = Qt.ItemDataRole.UserRole + 2
RowRole = Qt.ItemDataRole.UserRole + 3
_ROLES = {Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.ToolTipRole,
          Qt.ItemDataRole.TextAlignmentRole, SampleIdRole, SnippetRole, RowRole}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
DISPLAY_CHARS = 160  # a table cell shows less than this; eliding long strings is what makes painting slow


class SampleTableModel(QAbstractTableModel):
    countChanged = Signal(int, bool)      # count, exact
    firstPageLoaded = Signal()            # a (search) first page fetched on a worker has arrived
    editRequested = Signal(int, str, str)  # sample id, field, new value (the page routes it via undo)

    def __init__(self, db: sqlite_utils.Database, worker_db_path: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.worker_db_path = worker_db_path  # workers open their own connection to this store
        self.filter = SampleFilter()
        self._pages: OrderedDict[int, list[dict]] = OrderedDict()
        self._pending: set[int] = set()
        self._count = 0
        self._exact = True
        self._generation = 0
        self._first_loaded = False
        self.searching = False

    # -- loading -----------------------------------------------------------------------------
    def set_filter(self, flt: SampleFilter) -> None:
        self.filter = flt
        self._generation += 1
        self.beginResetModel()
        self._pages.clear()
        self._pending.clear()
        if flt.query and self.worker_db_path is not None:
            # A full-text search can take longer than a frame at millions of rows: fetch it on a worker.
            self._count, self._exact, self.searching = 0, False, True
            self.endResetModel()
            self.countChanged.emit(0, False)
            generation = self._generation
            run_in_background(tasks.page_at, self.worker_db_path, flt, 0, PAGE_SIZE,
                              on_result=lambda rows: generation == self._generation and self._first_page(rows))
            return
        self.searching = False
        first = query.page(self.db, flt, limit=PAGE_SIZE)
        self._first_loaded = True
        if first:
            self._pages[0] = first
        self._count = len(first)
        self._exact = len(first) < PAGE_SIZE
        self.endResetModel()
        self.countChanged.emit(self._count, self._exact)
        if not self._exact:
            self._start_count()

    def _first_page(self, rows: list[dict]) -> None:
        self.searching = False
        if rows:
            self._pages[0] = rows
        self._set_count(len(rows), len(rows) < PAGE_SIZE)
        if len(rows) == PAGE_SIZE:
            self._start_count()
        self.firstPageLoaded.emit()

    def reload(self) -> None:
        """Re-read everything (after an import or a change made by another process), keeping the scroll."""
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        first = query.page(self.db, self.filter, limit=PAGE_SIZE)
        if first:
            self._pages[0] = first
        if len(first) < PAGE_SIZE:
            self._set_count(len(first), True)
        else:
            if self._count < len(first):
                self._set_count(len(first), False)  # provisional until the exact count arrives
            self._exact = False
            self._start_count()
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(COLUMNS) - 1))

    def _start_count(self) -> None:
        generation = self._generation
        if self.worker_db_path is None:
            self._set_count(query.count(self.db, self.filter), True)
            return
        # Started a moment later so the worker's start-up never competes with painting the first page.
        QTimer.singleShot(COUNT_DELAY_MS, self, lambda: generation == self._generation and run_in_background(
            tasks.count, self.worker_db_path, self.filter,
            on_result=lambda n: generation == self._generation and self._set_count(n, True)))

    def _set_count(self, n: int, exact: bool) -> None:
        if n > self._count:
            self.beginInsertRows(QModelIndex(), self._count, n - 1)
            self._count = n
            self.endInsertRows()
        elif n < self._count:
            self.beginRemoveRows(QModelIndex(), n, self._count - 1)
            self._count = n
            self._pages = OrderedDict((p, rows) for p, rows in self._pages.items() if p * PAGE_SIZE < n)
            self.endRemoveRows()
        self._exact = exact
        self.countChanged.emit(self._count, exact)

    def stop(self) -> None:
        """No more background work (page shutting down): pending timers and results are ignored."""
        self._generation += 1

    @property
    def count_is_exact(self) -> bool:
        return self._exact

    def _page(self, number: int) -> list[dict] | None:
        rows = self._pages.get(number)
        if rows is not None:
            self._pages.move_to_end(number)
            return rows
        before, after = self._pages.get(number - 1), self._pages.get(number + 1)
        if before and len(before) == PAGE_SIZE:
            rows = query.page(self.db, self.filter, after_id=before[-1]["id"], limit=PAGE_SIZE)
        elif after:
            rows = query.page(self.db, self.filter, before_id=after[0]["id"], limit=PAGE_SIZE)
        elif self.worker_db_path is None:
            rows = query.page(self.db, self.filter, offset=number * PAGE_SIZE, limit=PAGE_SIZE)
        else:
            self._fetch_far(number)
            return None
        self._store(number, rows)
        return rows

    def _fetch_far(self, number: int) -> None:
        if number in self._pending:
            return
        self._pending.add(number)
        generation = self._generation

        def arrived(rows: list[dict]) -> None:
            self._pending.discard(number)
            if generation != self._generation:
                return
            self._store(number, rows)
            first = number * PAGE_SIZE
            last = min(self._count, first + PAGE_SIZE) - 1
            if last >= first:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

        run_in_background(tasks.page_at, self.worker_db_path, self.filter, number * PAGE_SIZE, PAGE_SIZE,
                          on_result=arrived,
                          on_error=lambda *_: self._pending.discard(number))

    def _store(self, number: int, rows: list[dict]) -> None:
        self._pages[number] = rows
        self._pages.move_to_end(number)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)

    def row_dict(self, row: int) -> dict | None:
        if not 0 <= row < self._count:
            return None
        rows = self._page(row // PAGE_SIZE)
        if rows is None or row % PAGE_SIZE >= len(rows):
            return None
        return rows[row % PAGE_SIZE]

    def sample_id(self, row: int) -> int | None:
        r = self.row_dict(row)
        return r["id"] if r else None

    def row_of(self, sample_id: int) -> int | None:
        """The row showing ``sample_id`` if its page is cached (no query)."""
        for number, rows in self._pages.items():
            for i, r in enumerate(rows):
                if r["id"] == sample_id:
                    return number * PAGE_SIZE + i
        return None

    def refresh_ids(self, ids) -> None:
        """Re-read the cached rows of ``ids`` after a curation write; they stay in place until the next filter."""
        wanted = set(ids)
        hits = [(n, i, r["id"]) for n, rows in self._pages.items() for i, r in enumerate(rows) if r["id"] in wanted]
        if not hits:
            return
        fresh = query.rows_by_id(self.db, [h[2] for h in hits], self.filter)
        for n, i, sid in hits:
            if sid in fresh:
                self._pages[n][i] = fresh[sid]
                row = n * PAGE_SIZE + i
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def cached_rows(self) -> int:
        return sum(len(rows) for rows in self._pages.values())

    # -- Qt model API ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if COLUMNS[section][0] == "instruction" and self.filter.query:
                return "Match"
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        # Qt asks for many roles per cell on every paint: answer the unhandled ones first, cheaply.
        if role not in _ROLES or not index.isValid():
            return None
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if key == "id" else None
        r = self.row_dict(index.row())
        if r is None:
            return PLACEHOLDER if role == Qt.ItemDataRole.DisplayRole else None
        if role == SampleIdRole:
            return r["id"]
        if role == RowRole:
            return r
        if role == SnippetRole:
            return r.get("snippet") if key == "instruction" else None
        value = r.get(key)
        if key == "instruction":
            text = r.get("snippet") or value or ""
            text = " ".join(text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "").split())
            return text[:DISPLAY_CHARS] if role != Qt.ItemDataRole.ToolTipRole else text[:300]
        if role == Qt.ItemDataRole.ToolTipRole:
            return value or None if key == "note" else None
        if key == "status" and role == Qt.ItemDataRole.DisplayRole:
            return STATUS_MARK.get(value, value) or "·"
        return value if value is not None else ""

    def flags(self, index: QModelIndex):
        base = super().flags(index)
        if index.isValid() and COLUMNS[index.column()][0] in EDITABLE:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        """Inline edits go through the page's undo stack (editRequested), never straight to the DB."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        key = COLUMNS[index.column()][0]
        sid = self.sample_id(index.row())
        if key not in EDITABLE or sid is None:
            return False
        value = str(value).strip()
        if key == "kind" and value not in KINDS:
            return False
        self.editRequested.emit(sid, key, value)
        return True


def editor_choices(key: str) -> list[str]:
    return list(KINDS) if key == "kind" else list(CATEGORIES)
