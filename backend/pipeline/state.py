"""The session state the stage functions work over, derived from one branch of recorded steps."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from backend.jobs.spec import DEFAULT_TIME_LIMIT_S, DEFAULT_TRAIN_TIME_LIMIT_S
from backend.pipeline.extract import format_hyperparameters
from backend.pipeline.tasks import Task

# The one definition of the pipeline's order. RAIL_STAGES is what the stage rail shows and what
# ``--until`` accepts; "validate" (code edited by hand and run without a model call) takes a turn
# of the debug loop, so it sits on the rail where "debug" does.
RAIL_STAGES = ("propose", "improve", "implement", "debug", "hyperparameters", "final")
STAGE_ORDER = RAIL_STAGES   # the name the runner exported before
STAGES = ("propose", "improve", "implement", "debug", "validate", "hyperparameters", "final")
RUN_STAGES = ("implement", "debug", "validate")   # steps that end in a validation run
CODE_STAGES = (*RUN_STAGES, "final")              # steps whose answer is a program that runs
STAGE_TITLES = {
    "propose": "Propose", "improve": "Improve", "implement": "Implement", "debug": "Debug",
    "validate": "Validate edit", "hyperparameters": "Hyperparameters", "final": "Final run",
}
DESIGNER_STAGES = ("propose", "improve", "hyperparameters")
DONE_STATUSES = ("done", "succeeded", "failed")   # a finished step; "error"/"stopped"/"interrupted" retry
UNFINISHED_STATUSES = ("error", "stopped", "interrupted")   # ended without a result: "Run again" in place


def rail_stage(stage: str) -> str:
    """Where ``stage`` sits on the rail (a hand-edited validation run takes a debug turn)."""
    return "debug" if stage == "validate" else stage


def template_stage(stage: str) -> str:
    """The prompt template a stage uses (a validation run's follow-up is a debug prompt)."""
    return rail_stage(stage)


@dataclass
class SessionSettings:
    max_debug: int = 20
    time_limit_s: float = DEFAULT_TIME_LIMIT_S            # the full run's wall clock
    train_time_limit_s: float = DEFAULT_TRAIN_TIME_LIMIT_S
    validation_time_limit_s: float = 600.0                # one epoch on a subset should be quick
    subset_size: int = 1000
    interpreter: str = ""                                 # execution environment; "" = the app's setting
    improve: bool = True                                  # False: the paper's base variant (no "+")
    designer_max_tokens: int = 1024
    programmer_max_tokens: int = 2048
    temperature: float = 0.2
    repeat_penalty: float | None = None                   # None: the model's default (llm.degenerate)
    memory_limit_mb: float | None = None
    no_network: bool = False
    executor: str = "local"                               # where programs run: backend.jobs.executors name
    # An imported trace's own models, as text for display only: never called (they may point anywhere).
    imported_models: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> SessionSettings:
        try:
            raw = json.loads(text or "{}")
        except ValueError:
            raw = {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class Step:
    id: int
    session_id: int
    parent_id: int | None
    stage: str
    attempt: int = 0
    status: str = "pending"
    prompt: str = ""
    response: str = ""
    code: str | None = None
    reference_code: str | None = None
    hyperparameters: dict | None = None
    stdout: str | None = None
    stderr: str | None = None
    error_type: str | None = None
    debug_log: str | None = None
    score: float | None = None
    job_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict = field(default_factory=dict)
    code_version: int = 0
    origin: str = "model"
    model: str | None = None
    created_at: float = 0.0
    stop_reason: str | None = None    # why an unfinished step ended (a crash, a stop, a model error)
    runner_pid: int | None = None     # the process that ran it (an interrupted step's owner is gone)

    @property
    def title(self) -> str:
        base = STAGE_TITLES.get(self.stage, self.stage)
        return f"{base} {self.attempt}" if self.stage in ("debug", "validate") else base

    @property
    def finished(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def unfinished(self) -> bool:
        """Ended without a result (a crash, a stop, a model error): it can run again in place."""
        return self.status in UNFINISHED_STATUSES

    @property
    def why_stopped(self) -> str:
        """One line saying why an unfinished step ended ('' for a finished or running one)."""
        if not self.unfinished:
            return ""
        if self.stop_reason:
            return self.stop_reason
        if self.status == "interrupted":
            return "DeepOnes was closed or killed while this stage ran."
        if self.status == "stopped":
            return "You stopped it."
        first = (self.stderr or "").strip().splitlines()
        return first[-1] if first else "The model call failed."

    def summary(self) -> dict:
        return {"stage": self.stage, "attempt": self.attempt, "status": self.status,
                "error_type": self.error_type, "score": self.score}


@dataclass
class SessionState:
    """What the stage functions read: T, A_B, A_I, C_R, C_i, O, E, L_1..L_i, H_O, C_O."""

    task: Task
    settings: SessionSettings
    steps: list[Step]                 # the current branch, root first

    def _last(self, *stages: str, finished: bool = True) -> Step | None:
        for step in reversed(self.steps):
            if step.stage in stages and (step.finished or not finished):
                return step
        return None

    @property
    def proposal(self) -> str:
        step = self._last("propose")
        return step.response if step else ""

    @property
    def improved(self) -> str:
        step = self._last("improve")
        return step.response if step else self.proposal

    @property
    def reference_code(self) -> str:
        step = self._last("improve")
        return (step.reference_code or "") if step else ""

    @property
    def last_run(self) -> Step | None:
        """The program that ran last: a validation run, or once the final run has run, the final program
        (C_O, or a debug attempt of it) — what the next debug prompt shows and fixes."""
        return self._last(*RUN_STAGES, "final")

    @property
    def in_final_phase(self) -> bool:
        """The final run has run on this branch: debug attempts now fix C_O and run on the full data."""
        return any(s.stage == "final" and s.finished for s in self.steps)

    @property
    def code(self) -> str:
        step = self.last_run
        return (step.code or "") if step else ""

    @property
    def debug_logs(self) -> list[str]:
        return [s.debug_log for s in self.steps if s.stage in ("debug", "validate") and s.debug_log]

    @property
    def debug_attempts(self) -> int:
        return sum(1 for s in self.steps if s.stage == "debug" and s.finished)

    @property
    def validated(self) -> bool:
        run = self.last_run
        return bool(run and run.score is not None)

    @property
    def hyperparameters(self) -> dict:
        step = self._last("hyperparameters")
        return dict(step.hyperparameters or {}) if step else {}

    @property
    def hyperparameters_text(self) -> str:
        step = self._last("hyperparameters")
        if not step:
            return "(none given)"
        return format_hyperparameters(step.hyperparameters) if step.hyperparameters else step.response

    @property
    def final(self) -> Step | None:
        """The final program's last run: C_O, or the debug attempt that fixed (or last tried to fix) it."""
        if not self.in_final_phase:
            return self._last("final")
        return self._last("final", "debug")

    def next_stage(self) -> str | None:
        """The stage to run next on this branch, or None when the branch is finished."""
        if not self.steps:
            return "propose"
        last = self.steps[-1]
        if not last.finished:
            # An error, a stop or an interrupted run: that stage again, in place (the runner re-runs
            # the step itself; a hand-edited "validate" re-runs its code without a model call).
            return last.stage
        if last.stage == "propose":
            return "improve" if self.settings.improve else "implement"
        if last.stage == "improve":
            return "implement"
        if last.stage in (*RUN_STAGES, "final"):
            if last.score is not None:
                # A validated program goes on to H_O; a scored final program (C_O or its fix) ends the branch.
                return None if last.stage == "final" or self.in_final_phase else "hyperparameters"
            # A failed program, validation or final run alike, goes to the debug loop while attempts remain.
            return "debug" if self.debug_attempts < self.settings.max_debug else None
        if last.stage == "hyperparameters":
            return "final"
        return None

    @property
    def retry_step(self) -> Step | None:
        """The branch's tip when it ended without a result: the step "Run again" re-runs in place."""
        if self.steps and self.steps[-1].unfinished:
            return self.steps[-1]
        return None

    @property
    def running_step(self) -> Step | None:
        """The branch's tip while it runs (here, or in another window or process)."""
        if self.steps and self.steps[-1].status == "running":
            return self.steps[-1]
        return None

    def planned_after(self, stage: str | None) -> list[str]:
        """The rail stages still to come after ``stage`` (greyed out on the rail)."""
        if stage is None or self.in_final_phase:
            return []   # debugging the final program: nothing comes after it but its own fix
        later = list(RAIL_STAGES[RAIL_STAGES.index(rail_stage(stage)) + 1:])
        if "debug" in later:
            later.remove("debug")   # the debug loop only runs when a validation fails
        if not self.settings.improve and "improve" in later:
            later.remove("improve")
        return later

    def outcome(self) -> str:
        """open | succeeded | failed (the final run scored, or the branch can go no further)."""
        final = self.final
        if final and final.score is not None:
            return "succeeded"
        if self.next_stage() is None:
            return "failed"
        return "open"
