"""One trace: the attempt tree and the selected attempt's code, output, debug log, diff and notes."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.traces.diff import side_by_side
from backend.traces.index import OUTCOME_TITLES
from backend.traces.model import Attempt, Trace
from deepones_gui.context import describe_model
from deepones_gui.widgets.code_editor import CodeEditor
from deepones_gui.workspaces.design.widgets import OutputView, status_icon
from deepones_gui.workspaces.traces.diff_view import SideBySideDiff

STEP_ROLE = Qt.ItemDataRole.UserRole
OTHER_TRACE = "other"


class TraceView(QWidget):
    attempt_selected = Signal(object)       # Attempt | None
    other_trace_wanted = Signal()           # "compare with an attempt of another trace…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace: Trace | None = None
        self.others: dict[int, Trace] = {}   # traces loaded for cross-session diffs
        self._compared: tuple[int, str] | None = None   # (attempt id, key of what it is diffed with)
        self.header = QLabel("Select a trace on the left.")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Attempt", "Error", "Score", "Labels"])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, self.tree.header().ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(1, 130)
        self.tree.setColumnWidth(2, 60)
        self.tree.currentItemChanged.connect(self._on_current)

        self.code = CodeEditor()
        self.code.setReadOnly(True)
        self.output = OutputView()
        self.output.line_activated.connect(self.jump_to_line)
        self.log = QListWidget()
        self.log.setWordWrap(True)
        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        self.compare = QComboBox()
        self.compare.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare.activated.connect(self._compare_changed)
        self.diff = SideBySideDiff()
        self.diff_summary = QLabel()
        diff_tab = QWidget()
        dl = QVBoxLayout(diff_tab)
        dl.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare with"))
        row.addWidget(self.compare, 1)
        row.addWidget(self.diff_summary)
        dl.addLayout(row)
        dl.addWidget(self.diff, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.code, "Code")
        self.tabs.addTab(self.output, "Output")
        self.tabs.addTab(self.log, "Debug log")
        self.tabs.addTab(diff_tab, "Diff")
        self.tabs.addTab(self.notes, "Labels && notes")
        self.diff_tab = diff_tab

        self.attempt_info = QLabel()
        self.attempt_info.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.tree, 1)
        ll.addWidget(self.attempt_info)
        # Tree above the panes: code and tracebacks need the width more than the tree does.
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setSizes([230, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)

    # -- showing ------------------------------------------------------------------------------
    def show_trace(self, trace: Trace | None, select: int | None = None) -> None:
        previous = self.current_attempt()
        keep = select if select is not None else (previous.id if previous and self.trace and trace
                                                  and trace.session_id == self.trace.session_id else None)
        self.trace = trace
        self.tree.clear()
        if trace is None:
            self.header.setText("Select a trace on the left.")
            self._show_attempt(None)
            return
        labels = "".join(f" <span style='background:#ede9fe;color:#5b21b6'>&nbsp;{_esc(x)}&nbsp;</span>"
                         for x in trace.labels)
        self.header.setText(
            f"<b>#{trace.session_id} {_esc(trace.title)}</b> — {OUTCOME_TITLES.get(trace.outcome, trace.outcome)}"
            f"{labels}<br><span style='color:#64748b'>task {_esc(trace.task)} · designer"
            f" {_esc(describe_model(trace.designer))} · programmer {_esc(describe_model(trace.programmer))} ·"
            f" {time.strftime('%Y-%m-%d %H:%M', time.localtime(trace.created_at))}</span>")
        items: dict[int, QTreeWidgetItem] = {}
        for a in trace.attempts:
            parent = items.get(a.parent_id) if a.parent_id is not None else None
            item = QTreeWidgetItem([a.title, a.error_type or "", "" if a.score is None else f"{a.score:.4g}",
                                    ", ".join(a.labels)])
            item.setIcon(0, status_icon(a.status))
            item.setData(0, STEP_ROLE, a.id)
            item.setToolTip(0, f"{a.title}: {a.status}" + (f"\n{a.debug_log}" if a.debug_log else ""))
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            items[a.id] = item
        self.tree.expandAll()
        target = keep if keep in items else next((a.id for a in reversed(trace.attempts) if a.failed), None)
        if target is None and trace.attempts:
            target = trace.attempts[-1].id
        if target is not None:
            self.tree.setCurrentItem(items[target])
        else:
            self._show_attempt(None)

    def select_attempt(self, step_id: int) -> bool:
        for item in self._items():
            if item.data(0, STEP_ROLE) == step_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def _items(self) -> list[QTreeWidgetItem]:
        out, todo = [], [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while todo:
            item = todo.pop(0)
            out.append(item)
            todo.extend(item.child(i) for i in range(item.childCount()))
        return out

    def current_attempt(self) -> Attempt | None:
        item = self.tree.currentItem()
        if item is None or self.trace is None:
            return None
        return self.trace.attempt(item.data(0, STEP_ROLE))

    def _on_current(self, *_args) -> None:
        self._show_attempt(self.current_attempt())

    def _show_attempt(self, a: Attempt | None) -> None:
        self.attempt_selected.emit(a)
        if a is None or self.trace is None:
            for w in (self.code, self.output):
                w.setPlainText("")
            self.log.clear()
            self.notes.clear()
            self.attempt_info.setText("")
            self.diff.show_rows([], "", "")
            return
        code = a.code or (a.response if not a.is_run else "")
        self.code.set_code(code)
        self.output.show_run(a.stdout, a.stderr)
        self.log.clear()
        logs = self.trace.debug_log_so_far(a.id)
        self.log.addItems([f"{i}. {line}" for i, line in enumerate(logs, 1)] or ["(no debug log yet on this branch)"])
        tokens = f" · {a.prompt_tokens or 0}+{a.completion_tokens or 0} tokens" if a.completion_tokens else ""
        run_s = a.timings.get("run_s")
        self.attempt_info.setText(
            f"<b>{_esc(a.title)}</b>: {a.status}" + (f", {_esc(a.error_type)}" if a.error_type else "")
            + (f", score {a.score:.4g}" if a.score is not None else "") + tokens
            + (f" · ran {run_s:.1f} s" if run_s else "") + (f"<br>{_esc(a.debug_log)}" if a.debug_log else ""))
        self._show_notes(a)
        self._fill_compare(a)

    def _show_notes(self, a: Attempt) -> None:
        self.notes.clear()
        for label in a.labels:
            self.notes.addItem(f"Label: {label}")
        for note in a.notes:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(note["created_at"]))
            self.notes.addItem(f"{note['text']}\n  — {note['author'] or 'unknown'}, {when}")
        if not a.labels and not a.notes:
            self.notes.addItem("No labels or notes yet: press 1–9/0 to label this attempt, N for a note.")

    # -- jumping ------------------------------------------------------------------------------
    def jump_to_line(self, line: int) -> None:
        """A traceback frame of program.py was clicked: show that line of this attempt's code."""
        self.tabs.setCurrentWidget(self.code)
        self.code.go_to_line(line)

    # -- diff ---------------------------------------------------------------------------------
    def _fill_compare(self, a: Attempt) -> None:
        assert self.trace is not None
        self.compare.blockSignals(True)
        self.compare.clear()
        prev = self.trace.previous_run(a.id)
        if prev is not None:
            self.compare.addItem(f"Previous program: {prev.title}", _key(self.trace.session_id, prev.id))
        for t in [self.trace, *[o for o in self.others.values() if o.session_id != self.trace.session_id]]:
            for other in t.attempts:
                if other.code and other.id != a.id:
                    prefix = "" if t is self.trace else f"#{t.session_id} "
                    self.compare.addItem(f"{prefix}{other.title} (attempt {other.id})", _key(t.session_id, other.id))
        self.compare.addItem("Attempt of another trace…", OTHER_TRACE)
        self.compare.blockSignals(False)
        # The same attempt shown again (labels changed, list refreshed): keep what it is compared with.
        kept = self._compared[1] if self._compared and self._compared[0] == a.id else None
        index = self.compare.findData(kept) if kept is not None else -1
        if self.compare.count() > 1:
            self.compare.setCurrentIndex(max(0, index))
            self._compare_changed(max(0, index))
        else:
            self.diff.show_rows([], "", "")
            self.diff_summary.setText("No other program to compare with.")

    def _compare_changed(self, index: int) -> None:
        data = self.compare.itemData(index)
        if data == OTHER_TRACE:
            self.other_trace_wanted.emit()
            return
        if data:
            session_id, step_id = (int(x) for x in data.split(":"))
            self.diff_with(session_id, step_id)

    def add_other_trace(self, trace: Trace) -> None:
        self.others[trace.session_id] = trace
        a = self.current_attempt()
        if a is not None:
            self._fill_compare(a)

    def diff_with(self, session_id: int, step_id: int) -> None:
        """Diff the selected attempt (right) against ``step_id`` of trace ``session_id`` (left)."""
        a = self.current_attempt()
        if a is None or self.trace is None:
            return
        source = self.trace if session_id == self.trace.session_id else self.others.get(session_id)
        if source is None:
            return
        other = source.attempt(step_id)
        self._compared = (a.id, _key(session_id, step_id))
        left = other.title if source is self.trace else f"#{source.session_id} {other.title}"
        rows = side_by_side(other.code, a.code or "")
        self.diff.show_rows(rows, left, a.title)
        changed = sum(1 for r in rows if r.kind != "equal")
        self.diff_summary.setText(f"{changed} changed line(s)" if changed else "identical")
        i = self.compare.findData(_key(session_id, step_id))
        if i >= 0:
            self.compare.setCurrentIndex(i)


def _key(session_id: int, step_id: int) -> str:
    # Combo item data as text: Qt hands tuples back as lists, so findData() would never match them.
    return f"{session_id}:{step_id}"


def _esc(text: str | None) -> str:
    from html import escape

    return escape(text or "")
