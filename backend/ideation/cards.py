"""A proposal card: one Propose attempt of a design session, with what was measured about it.

Cards are read from the session tree, never kept elsewhere: every Propose step of the session is a
card (the board's samples, merges, and the pipeline's own proposal). What the board adds to a step
lives in its ``timings`` (tokens/s, the temperature it was sampled at, what a merge combined, the
requirement check of its code), so Traces and exports carry it along.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from backend.pipeline.extract import fenced_program
from backend.pipeline.state import CODE_STAGES, Step

VERDICT_RANK = {"green": 0, "amber": 1, "red": 2}
# Sortable columns: key -> (label, whether a higher value is the better one by default).
SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "order": ("Order asked", False),
    "verdict": ("Requirement check", False),
    "params": ("Parameters", False),
    "flops": ("FLOPs per sample", False),
    "memory": ("Peak memory", False),
    "latency": ("Forward latency", False),
    "tokens_per_s": ("Tokens/s", True),
    "tokens": ("Answer tokens", True),
    "designer": ("Designer", False),
}


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


@dataclass
class ProposalCard:
    step_id: int
    designer: str
    text: str
    status: str
    prompt: str = ""
    temperature: float | None = None
    tokens: int | None = None
    tokens_per_s: float | None = None
    merged_from: list[int] = field(default_factory=list)
    instruction: str = ""
    error: str | None = None  # why the answer failed or stopped (one line)
    code: str = ""  # what a check measures: the branch's latest program, or the proposal's snippet
    code_source: str = ""  # where ``code`` came from, in words
    check: dict | None = None  # the requirement check of ``code`` (the check's JSON), if run
    check_stale: bool = False  # a check of other code (the branch moved on since)
    improve_step_id: int | None = None  # the newest Improve under this card (A_I), for "Improve as a diff"
    leaf_id: int | None = None  # the newest step on the card's branch (where "Continue" goes)

    @property
    def checked(self) -> bool:
        return self.check is not None and not self.check_stale

    @property
    def verdict(self) -> str | None:
        return self.check.get("verdict") if self.checked and self.check else None

    def value(self, column: str) -> float | str | None:
        """The card's value in a sortable column (None: not measured; sorts last)."""
        check = self.check if self.checked else None
        if column == "order":
            return self.step_id
        if column == "designer":
            return self.designer
        if column == "tokens":
            return self.tokens
        if column == "tokens_per_s":
            return self.tokens_per_s
        if check is None:
            return None
        if column == "verdict":
            return VERDICT_RANK.get(str(check.get("verdict")))
        if check.get("status") != "ok":
            return None
        key = {
            "params": "params",
            "flops": "flops_per_sample",
            "memory": "peak_memory_bytes",
            "latency": "forward_ms",
        }.get(column)
        value = check.get(key) if key else None
        return float(value) if isinstance(value, int | float) else None

    def to_json(self) -> dict:
        return {
            "step_id": self.step_id,
            "designer": self.designer,
            "status": self.status,
            "text": self.text,
            "temperature": self.temperature,
            "tokens": self.tokens,
            "tokens_per_s": self.tokens_per_s,
            "merged_from": self.merged_from,
            "error": self.error,
            "check": {k: v for k, v in self.check.items() if k != "diagram"}
            if self.checked and self.check
            else None,
            "code_source": self.code_source or None,
        }


def sort_cards(cards: list[ProposalCard], column: str, descending: bool | None = None) -> list[ProposalCard]:
    """Cards by ``column``; unmeasured ones always last, ties in the order they were asked."""
    if column not in SORT_COLUMNS:
        raise KeyError(f"cannot sort by {column!r} (columns: {', '.join(SORT_COLUMNS)})")
    if descending is None:
        descending = SORT_COLUMNS[column][1]
    measured = [c for c in cards if c.value(column) is not None]
    missing = [c for c in cards if c.value(column) is None]
    measured.sort(key=lambda c: c.step_id)
    measured.sort(key=lambda c: c.value(column), reverse=descending)  # stable: ties keep their order
    return measured + sorted(missing, key=lambda c: c.step_id)


def _descendants(children: dict[int | None, list[Step]], root: int) -> list[Step]:
    out: list[Step] = []
    todo = list(children.get(root, []))
    while todo:
        step = todo.pop()
        out.append(step)
        todo.extend(children.get(step.id, []))
    return sorted(out, key=lambda s: s.id)


def cards_from_steps(steps: list[Step]) -> list[ProposalCard]:
    """One card per Propose step of a session's steps (all of them, any branch), in the order asked."""
    children: dict[int | None, list[Step]] = {}
    for step in steps:
        children.setdefault(step.parent_id, []).append(step)
    cards = []
    for step in steps:
        if step.stage != "propose":
            continue
        below = _descendants(children, step.id)
        programs = [s for s in below if s.stage in CODE_STAGES and s.code]
        improves = [s for s in below if s.stage == "improve" and s.finished]
        if programs:
            code, source = (
                programs[-1].code or "",
                f"the program of {programs[-1].title} (step {programs[-1].id})",
            )
        else:
            code = fenced_program(step.response) if step.finished else ""
            source = "the model code in the proposal" if code.strip() else ""
        timings = step.timings or {}
        stored = timings.get("check")
        check, stale = None, False
        if isinstance(stored, dict) and isinstance(stored.get("result"), dict):
            check = stored["result"]
            stale = stored.get("code_sha") != code_hash(code)
        error = step.why_stopped or (step.stderr if step.status == "error" else None)
        cards.append(
            ProposalCard(
                step_id=step.id,
                designer=step.model or "",
                text=step.response,
                status=step.status,
                prompt=step.prompt,
                temperature=timings.get("temperature"),
                tokens=step.completion_tokens,
                tokens_per_s=timings.get("tokens_per_s"),
                merged_from=list(timings.get("merged_from") or []),
                instruction=str(timings.get("instruction") or ""),
                error=error or None,
                code=code,
                code_source=source,
                check=check,
                check_stale=stale,
                improve_step_id=improves[-1].id if improves else None,
                leaf_id=below[-1].id if below else None,
            )
        )
    return cards
