"""Design's "Check" tab: the stage's program checked against the session task's requirements, and
"Send back to designer", which puts the check's note into the designer's prompt for a re-run (the
page picks the stage, :meth:`backend.pipeline.controller.DesignSession.designer_tip`; the words are here).
"""

from __future__ import annotations

from backend.ideation.diagram import coarse_from_text
from backend.ideation.result import CheckRequest
from backend.pipeline.controller import DESIGNER_STAGES
from backend.pipeline.state import CODE_STAGES, STAGE_TITLES, SessionState, Step
from deepones_gui.ideation.check_panel import CheckPanel


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


def with_note(prompt: str, note: str) -> str:
    """The designer's prompt with the check's note added (kept as the re-run draft)."""
    prompt = prompt.rstrip()
    return f"{prompt}\n\n{note}\n" if prompt else note


def sent_back_message(target: Step) -> str:
    """The status line once the note is in ``target``'s prompt."""
    title = STAGE_TITLES.get(target.stage, target.stage)
    return f"The check's numbers were added to the {title} prompt: Re-run stage to send them."
