"""Facet filters: checkable values with counts for kind, category, status, dataset and tag, and for
generated samples their paper, paper year and generator model (shown once there are any)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from backend.datasets.schema import CATEGORIES, KINDS, STATUSES, TRAITS
from backend.generate.provenance import generator_label, paper_label

FACETS = (("kind", "Kind"), ("category", "Category"), ("trait", "Contains"), ("status", "Status"),
          ("dataset", "Dataset"), ("tag", "Tag"), ("paper", "Paper"), ("year", "Year"),
          ("generator", "Generator model"))
PROVENANCE_FACETS = ("paper", "year", "generator")   # hidden while no sample was generated
CHECKBOX_AND_MARGINS = 30   # check indicator, its spacing and the item's margins, in pixels
ValueRole = Qt.ItemDataRole.UserRole + 10


class FacetTree(QTreeWidget):
    """Checking values narrows the table; values within a facet are OR-ed, facets AND-ed."""

    selectionChangedByUser = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.groups: dict[str, QTreeWidgetItem] = {}
        for key, title in FACETS:
            group = QTreeWidgetItem(self, [title, ""])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.groups[key] = group
        self._updating = False
        self.itemChanged.connect(self._changed)
        self.set_counts({"by_kind": dict.fromkeys(KINDS, 0), "by_category": dict.fromkeys(CATEGORIES, 0),
                         "by_status": dict.fromkeys(STATUSES, 0), "by_dataset": {}, "by_tag": {},
                         "by_trait": {name: 0 for name, _ in TRAITS}})
        for key in ("kind", "category", "trait", "status"):
            self.groups[key].setExpanded(True)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, self.header().ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, self.header().ResizeMode.ResizeToContents)

    def set_counts(self, st: dict) -> None:
        """Refresh values and counts, keeping what is checked."""
        checked = self.checked()
        titles = st.get("paper_titles", {})
        self._updating = True
        try:
            for key, _ in FACETS:
                group = self.groups[key]
                values = dict(st.get(f"by_{key}", {}))
                for value in checked.get(key, ()):  # a checked value stays visible even at zero
                    values.setdefault(value if key != "category" or value else "(none)", 0)
                group.takeChildren()
                for value, n in values.items():
                    raw = "" if key == "category" and value == "(none)" else value
                    label = paper_label(value, titles.get(value, "")) if key == "paper" else \
                        generator_label(value) if key == "generator" else value
                    item = QTreeWidgetItem(group, [label or "(none)", f"{n:,}"])
                    if key == "paper":
                        item.setToolTip(0, f"{titles.get(value) or value}\n{value}")
                    elif key == "generator":
                        item.setToolTip(0, value)
                    item.setData(0, ValueRole, raw)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(0, Qt.CheckState.Checked if raw in checked.get(key, ()) else Qt.CheckState.Unchecked)
                    item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.setForeground(1, self.palette().placeholderText())
                if key in PROVENANCE_FACETS:
                    group.setHidden(not values)
        finally:
            self._updating = False
        self.setMinimumWidth(self.needed_width())

    def needed_width(self) -> int:
        """Wide enough that no value label is cut ("description gener…"): longest label + count."""
        fm = self.fontMetrics()
        widest_label = widest_count = 0
        for group in self.groups.values():
            if group.isHidden():
                continue
            for i in range(group.childCount()):
                child = group.child(i)
                widest_label = max(widest_label, fm.horizontalAdvance(child.text(0)))
                widest_count = max(widest_count, fm.horizontalAdvance(child.text(1)))
        frame = 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()
        # Values sit one level down: the group's branch and their own both take an indentation.
        return widest_label + widest_count + 2 * self.indentation() + CHECKBOX_AND_MARGINS + frame

    def checked(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for key, group in self.groups.items():
            values = tuple(group.child(i).data(0, ValueRole) for i in range(group.childCount())
                           if group.child(i).checkState(0) == Qt.CheckState.Checked)
            if values:
                out[key] = values
        return out

    def ensure_value(self, key: str, value: str, label: str) -> None:
        """List ``value`` under ``key`` if it is not there yet (count unknown until the next refresh)."""
        group = self.groups[key]
        if any(group.child(i).data(0, ValueRole) == value for i in range(group.childCount())):
            return
        self._updating = True
        item = QTreeWidgetItem(group, [label, "…"])
        item.setData(0, ValueRole, value)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        group.setHidden(False)
        self._updating = False

    def set_checked(self, key: str, values: tuple[str, ...], *, notify: bool = True) -> None:
        group = self.groups[key]
        self._updating = True
        for i in range(group.childCount()):
            child = group.child(i)
            child.setCheckState(0, Qt.CheckState.Checked if child.data(0, ValueRole) in values else Qt.CheckState.Unchecked)
        self._updating = False
        if values:
            group.setExpanded(True)
        if notify:
            self.selectionChangedByUser.emit()

    def clear_checks(self) -> None:
        for key in self.groups:
            self.set_checked(key, (), notify=False)
        self.selectionChangedByUser.emit()

    def _changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._updating and column == 0 and item.parent() is not None:
            self.selectionChangedByUser.emit()
