"""Comparing two attempts' code: unified text and side-by-side rows (for the GUI and the HTML page).

Either attempt may come from any trace (e.g. the base and "+" runs of one task).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffRow:
    kind: str               # equal | replace | delete | insert
    left_no: int | None     # 1-based line numbers; None on the side without the line
    left: str
    right_no: int | None
    right: str


def unified(a: str, b: str, a_name: str = "a", b_name: str = "b", context: int = 3) -> str:
    return "".join(difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), a_name, b_name, n=context))


def side_by_side(a: str, b: str) -> list[DiffRow]:
    """Aligned rows of ``a`` (left) and ``b`` (right); changed blocks pair line by line."""
    left, right = a.splitlines(), b.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(DiffRow("equal", i1 + k + 1, left[i1 + k], j1 + k + 1, right[j1 + k]) for k in range(i2 - i1))
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            li, rj = i1 + k, j1 + k
            has_l, has_r = li < i2, rj < j2
            kind = "replace" if has_l and has_r else ("delete" if has_l else "insert")
            rows.append(DiffRow(kind, li + 1 if has_l else None, left[li] if has_l else "",
                                rj + 1 if has_r else None, right[rj] if has_r else ""))
    return rows


def changed_lines(rows: list[DiffRow]) -> int:
    return sum(1 for r in rows if r.kind != "equal")
