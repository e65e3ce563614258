"""Design's "Check" tab: the stage's program checked against the session task's requirements, and
"Send back to designer", which puts the check's note into the designer's prompt for a re-run.

Kept out of the page and the stage view (each calls one function here) so the Design page stays small.
"""

from __future__ import annotations

from backend.ideation.diagram import coarse_from_text
from backend.ideation.result import CheckRequest
from backend.pipeline.state import CODE_STAGES, STAGE_TITLES, SessionState, Step
from deepones_gui.ideation.check_panel import CheckPanel
from deepones_gui.workspaces.design.widgets import NEXT

DESIGNER_STAGES = ("improve", "propose")   # where a design goes back to, latest first


def request_for(state: SessionState) -> tuple[CheckRequest | None, str]:
    """The check the session's task implies, or why there is none (a one-line message)."""
    try:
        return CheckRequest.for_task(state.task), ""
    except ValueError as exc:
        return None, f"{exc} (use `deepones design check --input-shape` for this task)"


def show_check(panel: CheckPanel, step: Step | None, state: SessionState | None) -> None:
    """Point the panel at the stage's program (implement and later) or the designer's reference code C_R
    (improve); otherwise say why there is nothing to check."""
    code, coarse = "", None
    if state is not None and step is not None:
        code = step.reference_code or "" if step.stage == "improve" else step.code or "" if step.stage in CODE_STAGES else ""
        if step.stage in DESIGNER_STAGES:
            coarse = coarse_from_text(step.response or "")     # the designer named <MODEL>, <LAYER>... nodes
    if not code.strip():
        panel.set_program("", None, why_not="A model can be checked once a stage has produced code.", coarse=coarse)
        return
    request, why_not = request_for(state)
    panel.set_program(code, request, why_not=why_not, coarse=coarse)


def send_back_to_designer(page, note: str) -> str:
    """Show the designer's latest stage and add ``note`` to its prompt (kept as the re-run draft);
    returns what happened, for the status line."""
    state = page.state
    target = next((s for s in reversed(state.steps) if s.stage in DESIGNER_STAGES), None) if state else None
    if target is None:
        return "No designer stage on this branch to send the check back to."
    page.rail.select_data(target.id)
    if page.shown == NEXT or page.shown != target.id:
        return "The designer's stage could not be shown."
    prompt = page.prompt_edit.toPlainText().rstrip()
    page.prompt_edit.setPlainText(f"{prompt}\n\n{note}\n" if prompt else note)
    page.prompt_edit.setFocus()
    title = STAGE_TITLES.get(target.stage, target.stage)
    return f"The check's numbers were added to the {title} prompt: Re-run stage to send them."
