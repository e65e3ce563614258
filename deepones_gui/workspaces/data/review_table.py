"""The sample table: review keys on the selection, inline kind/category combos, column set-up."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QMenu,
    QStyledItemDelegate,
    QTableView,
)

from deepones_gui.workspaces.data.snippet_delegate import SnippetDelegate
from deepones_gui.workspaces.data.table_model import COLUMNS, editor_choices

REVIEW_KEYS = {Qt.Key.Key_A: "accepted", Qt.Key.Key_R: "rejected", Qt.Key.Key_F: "needs-fix",
               Qt.Key.Key_U: "unreviewed"}
# ID, Status, Kind, Category: sized for their longest values; the question / Match column stretches.
FIXED_WIDTHS = {0: 52, 1: 96, 2: 84, 3: 132}
MATCH_MIN_SHARE = 0.5   # while searching, the Match column keeps at least half the table


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
    """The sample table; single keys review the selection while the table has focus (the page acts
    on the signals they emit)."""

    reviewRequested = Signal(str)   # a status for the selected samples (A, R, F, U)
    stepRequested = Signal(int)     # move the current row by this much (J, K)
    tagRequested = Signal()         # T
    noteRequested = Signal()        # N: into the note field
    editRequested = Signal()        # E: the edit dialog

    def __init__(self) -> None:
        super().__init__()
        self._searching = False
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setItemDelegateForColumn(2, ChoiceDelegate(self))
        self.setItemDelegateForColumn(3, ChoiceDelegate(self))
        self.setItemDelegateForColumn(4, SnippetDelegate(self))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)

    def setup_columns(self) -> None:
        header = self.horizontalHeader()
        for col, width in FIXED_WIDTHS.items():
            header.resizeSection(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        for col in (5, 6):  # dataset and note: one right-click away, so the question gets the room
            self.setColumnHidden(col, True)

    def fit_match_column(self, searching: bool) -> None:
        """While searching, the category column gives way so Match keeps at least half the width."""
        self._searching = searching
        if not searching:
            self.setColumnHidden(3, False)
            return
        others = sum(self.columnWidth(c) for c in range(len(COLUMNS)) if c != 4 and not self.isColumnHidden(c))
        available = self.viewport().width()
        if available and available - others < MATCH_MIN_SHARE * available:
            self.setColumnHidden(3, True)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_match_column(self._searching)

    def _column_menu(self, pos) -> None:
        menu = QMenu(self)
        for col, (_key, title) in enumerate(COLUMNS):
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(col))
            action.toggled.connect(lambda on, c=col: self.setColumnHidden(c, not on))
        menu.exec(self.horizontalHeader().mapToGlobal(pos))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier:
            key = event.key()
            actions = {
                Qt.Key.Key_J: lambda: self.stepRequested.emit(1),
                Qt.Key.Key_K: lambda: self.stepRequested.emit(-1),
                Qt.Key.Key_T: self.tagRequested.emit,
                Qt.Key.Key_N: self.noteRequested.emit,
                Qt.Key.Key_E: self.editRequested.emit,
            }
            if key in REVIEW_KEYS:
                self.reviewRequested.emit(REVIEW_KEYS[key])
                return
            if key in actions:
                actions[key]()
                return
        super().keyPressEvent(event)
