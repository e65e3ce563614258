"""Two designs against each other: the improved architecture A_I against A_B, or any two cards.

The proposals are prose, so they are wrapped into lines first (a paragraph is one long line, and a
one-word change would otherwise mark the whole paragraph); the programs are compared line by line.
Both use :mod:`backend.traces.diff` (unified text and side-by-side rows), as Traces does for code.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

from backend.ideation.cards import ProposalCard
from backend.pipeline.extract import fenced_program, prose_only
from backend.pipeline.state import CODE_STAGES, Step
from backend.pipeline.store import SessionStore
from backend.traces.diff import DiffRow, changed_lines, side_by_side, unified

WRAP = 78


@dataclass(frozen=True)
class DesignVersion:
    label: str  # e.g. "A_B: proposal 12"
    text: str  # the architecture in words
    code: str = ""  # its model code once implemented ('' before)


@dataclass(frozen=True)
class DesignDiff:
    before: DesignVersion
    after: DesignVersion
    text_rows: list[DiffRow]
    code_rows: list[DiffRow] | None  # None until both sides have code

    @property
    def text_changes(self) -> int:
        return changed_lines(self.text_rows)

    @property
    def code_changes(self) -> int | None:
        return None if self.code_rows is None else changed_lines(self.code_rows)

    def unified_text(self) -> str:
        return unified(
            wrap_prose(self.before.text), wrap_prose(self.after.text), self.before.label, self.after.label
        )

    def unified_code(self) -> str:
        return (
            unified(self.before.code, self.after.code, self.before.label, self.after.label)
            if self.code_rows is not None
            else ""
        )


def wrap_prose(text: str, width: int = WRAP) -> str:
    """Paragraphs wrapped to ``width``; code fences and list items keep their own lines."""
    out: list[str] = []
    in_fence = False
    for line in text.strip().splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            out.append(line)
        elif in_fence or not line.strip():
            out.append(line)
        else:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(
                textwrap.wrap(
                    line.strip(),
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent + "  " if line.lstrip().startswith(("-", "*")) else indent,
                )
                or [""]
            )
    return "\n".join(out) + "\n"


def diff_designs(before: DesignVersion, after: DesignVersion) -> DesignDiff:
    code_rows = side_by_side(before.code, after.code) if before.code.strip() and after.code.strip() else None
    return DesignDiff(before, after, side_by_side(wrap_prose(before.text), wrap_prose(after.text)), code_rows)


def _latest_program(steps: list[Step], under: int, *, skip_stage: str | None = None) -> Step | None:
    """The newest step with code below step ``under`` (not going through ``skip_stage`` steps)."""
    children: dict[int | None, list[Step]] = {}
    for step in steps:
        children.setdefault(step.parent_id, []).append(step)
    found: list[Step] = []
    todo = list(children.get(under, []))
    while todo:
        step = todo.pop()
        if skip_stage and step.stage == skip_stage:
            continue
        if step.stage in CODE_STAGES and step.code:
            found.append(step)
        todo.extend(children.get(step.id, []))
    return max(found, key=lambda s: s.id) if found else None


def card_version(card: ProposalCard) -> DesignVersion:
    """A card as a design: its proposal, and the program its branch implemented (if any)."""
    return DesignVersion(f"Proposal {card.step_id}", card.text, card.code)


def improvement_diff(store: SessionStore, card: ProposalCard) -> DesignDiff | None:
    """A_I against A_B for a card whose branch has an Improve step (None before one ran).

    A_B's code is a program implemented straight from the proposal (a branch without Improve, the
    paper's base variant), else the model code in the proposal itself; A_I's is the newest program
    after the Improve step, else its reference code C_R.
    """
    if card.improve_step_id is None:
        return None
    steps = store.steps(store.step(card.step_id).session_id)
    improve = next(s for s in steps if s.id == card.improve_step_id)
    base_program = _latest_program(steps, card.step_id, skip_stage="improve")
    base_code = base_program.code if base_program is not None else fenced_program(card.text)
    improved_program = _latest_program(steps, improve.id)
    improved_code = improved_program.code if improved_program is not None else (improve.reference_code or "")
    before = DesignVersion(f"A_B (proposal {card.step_id})", card.text, base_code or "")
    after = DesignVersion(
        f"A_I (improve step {improve.id})",
        prose_only(improve.response) or improve.response,
        improved_code or "",
    )
    return diff_designs(before, after)


_STYLE = {"delete": "background:#fee2e2;", "insert": "background:#dcfce7;", "replace": "background:#fef3c7;"}


def rows_html(rows: list[DiffRow], left_title: str, right_title: str) -> str:
    """Side-by-side rows as an HTML table with coloured changes (for a text browser and exports)."""
    out = [
        "<table cellspacing='0' cellpadding='2' width='100%' style='font-family:monospace;'>",
        f"<tr><th align='left'>{html.escape(left_title)}</th><th align='left'>{html.escape(right_title)}</th></tr>",
    ]
    for row in rows:
        left_style = _STYLE["delete"] if row.kind in ("delete", "replace") else ""
        right_style = _STYLE["insert"] if row.kind in ("insert", "replace") else ""
        out.append(
            f"<tr><td style='{left_style}'>{html.escape(row.left) or '&nbsp;'}</td>"
            f"<td style='{right_style}'>{html.escape(row.right) or '&nbsp;'}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)
