"""Drives a design session stage by stage: prompt -> streamed model call -> code -> sandboxed run.

Every call and run is recorded as it happens (a step row is written before the prompt is sent,
and updated when the answer and the run finish), so a crash or a closed window loses nothing.
Used by the GUI (on a worker thread, one runner per open session), the CLI and the tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from backend.cancel import CancelToken
from backend.errors import UserError
from backend.jobs.spec import JobStatus
from backend.llm.base import BackendError, ChatBackend, GenerationSettings
from backend.llm.degenerate import MODEL_LOOP
from backend.pipeline import sandbox, stages
from backend.pipeline.extract import NO_HYPERPARAMETERS
from backend.pipeline.state import (
    DESIGNER_STAGES,
    RAIL_STAGES,
    RUN_STAGES,
    STAGE_ORDER,
    SessionState,
    Step,
    rail_stage,
)
from backend.pipeline.store import SessionStore

__all__ = ["STAGE_ORDER", "DesignRunner", "PipelineFinished", "StageBusy", "prepare_prompt"]
log = logging.getLogger(__name__)
# Events: ("step", {"step"}), ("chunk", {"step_id", "text"}), ("running", {"step_id", "kind", "job_id"})
# once the program is launched, ("output", {"step_id", "stream", "text"}), ("session", {"status"}).
EventCallback = Callable[[str, dict], None]
EMPTY_ANSWER = "EmptyAnswer"


def prepare_prompt(store: SessionStore, session_id: int, state: SessionState,
                   root: Path | None = None) -> tuple[str | None, str]:
    """(next stage, its prompt): the user's unsent draft if there is one, else the template.

    A step that ended without a result runs again with the prompt it was sent (or its draft).
    """
    stage = state.next_stage()
    if stage is None:
        return None, ""
    retry = state.retry_step
    parent = retry.parent_id if retry is not None else (state.steps[-1].id if state.steps else None)
    draft = store.draft(session_id, parent, stage)
    if draft is not None:
        return stage, draft
    if retry is not None and retry.prompt:
        return stage, retry.prompt
    return stage, stages.build_prompt(stage, state, root)


class PipelineFinished(UserError, RuntimeError):
    """The branch has no next stage (the final run is done, or debugging is exhausted)."""


class StageBusy(UserError, RuntimeError):
    """The branch's tip is running in another live process (a second window, the CLI)."""


class ModelCallFailed(Exception):
    """The model's stream raised: its one-line message and what had streamed until then."""

    def __init__(self, message: str, partial: str) -> None:
        super().__init__(message)
        self.partial = partial


def _model_error_message(exc: BaseException) -> str:
    """One line for the user: a backend's own message as is, anything else with its type."""
    text = " ".join(str(exc).split())
    if isinstance(exc, BackendError):
        return text or type(exc).__name__
    log.warning("the model stream raised %s", type(exc).__name__, exc_info=exc)
    return f"The model failed: {type(exc).__name__}" + (f": {text}" if text else "")


class DesignRunner:
    def __init__(
        self,
        db: sqlite_utils.Database,
        session_id: int,
        *,
        root: Path | None = None,
        on_event: EventCallback | None = None,
        backend_factory: Callable[[str], ChatBackend] | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self.store = SessionStore(db)
        self.db = db
        self.session_id = session_id
        self.root = root
        self.on_event = on_event or (lambda kind, payload: None)
        # The owner's token (the GUI task's, a sweep's) when given: a Stop it gets at any moment,
        # even before a run begins, stops this runner. Never cleared: see _begin.
        self.cancel = cancel if cancel is not None else CancelToken()
        self._own_cancel = cancel is None
        self._backends: dict[str, ChatBackend] = {}
        self._factory = backend_factory
        self._lock = threading.Lock()

    # -- models ------------------------------------------------------------------------------
    def backend(self, spec: str) -> ChatBackend:
        """One backend per spec for the runner's life (a GGUF loads once)."""
        with self._lock:
            if spec not in self._backends:
                if self._factory is not None:
                    self._backends[spec] = self._factory(spec)
                else:
                    from backend.llm.resolve import get_backend

                    self._backends[spec] = get_backend(spec)
            return self._backends[spec]

    def _own_models_row(self, state: SessionState) -> dict:
        """The session row, after a trace imported by an older version (which kept the file's model
        specs, possibly someone else's endpoint) has been given the user's own models."""
        row = self.store.session_row(self.session_id)
        legacy_import = row["status"] == "imported" or str(row["title"] or "").endswith(" (imported)")
        if legacy_import and not state.settings.imported_models:
            from backend.traces.import_json import adopt_own_models

            if adopt_own_models(self.store.db, self.session_id, legacy_ok=True):
                row = self.store.session_row(self.session_id)
        return row

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()

    def stop(self) -> None:
        """Stop the model call or the run in progress (thread-safe); the step is kept as 'stopped'.
        The model call in flight is stopped through its link to ``cancel`` (see ``_ask``)."""
        self.cancel.cancel()

    def _begin(self) -> None:
        """The one place a run's cancel state is set up, at each public entry point.

        A token given by the owner is kept as it is (a Stop that came first still counts); the
        runner's own token is renewed when the previous run was stopped, so a runner can run again
        after a Stop (the CLI, tests)."""
        if self._own_cancel and self.cancel.is_set():
            self.cancel = CancelToken()

    def _ask(self, spec: str, step: Step, max_tokens: int) -> stages.Ask:
        def ask(prompt: str) -> stages.ModelReply:
            chunks: list[str] = []
            try:
                backend = self.backend(spec)
            except Exception as exc:
                raise ModelCallFailed(_model_error_message(exc), "") from exc
            # A recorded conversation goes on where the store says it is (a reopened session, a
            # stage run again after a crash), not where this backend object last was.
            backend.resume_after(self.store.answers_given(self.session_id, spec, before_step=step.id))
            cfg = self.store.settings(self.session_id)
            settings = GenerationSettings(temperature=cfg.temperature, max_tokens=max_tokens,
                                          repeat_penalty=cfg.repeat_penalty)
            last_chunk_at = None
            response = backend.prompt([{"role": "user", "content": prompt}], settings)
            unlink = self.cancel.on_cancel(response.cancel)   # a Stop reaches this call at once
            try:
                while True:
                    try:
                        chunk = next(response)
                    except StopIteration:
                        break
                    except Exception as exc:
                        raise ModelCallFailed(_model_error_message(exc), "".join(chunks)) from exc
                    chunks.append(chunk)
                    last_chunk_at = time.perf_counter()
                    self.on_event("chunk", {"step_id": step.id, "text": chunk})
            finally:
                response.close()
                unlink()
            stats = response.stats
            return stages.ModelReply(
                text="".join(chunks), prompt_tokens=stats.prompt_tokens or None,
                completion_tokens=stats.completion_tokens or None, ttft_s=stats.ttft_s, total_s=stats.total_s,
                last_chunk_at=last_chunk_at, stopped=self.cancel.is_set(), stop_reason=stats.stop_reason,
            )

        return ask

    # -- state -------------------------------------------------------------------------------
    def state(self) -> SessionState:
        return self.store.state(self.session_id)

    def prepare_prompt(self, state: SessionState | None = None) -> tuple[str | None, str]:
        """(next stage, its prompt): see :func:`prepare_prompt`."""
        return prepare_prompt(self.store, self.session_id, state or self.state(), self.root)

    def _settled_state(self) -> SessionState:
        """The branch, with a step left "running" by a process that is gone marked interrupted."""
        state = self.state()
        if state.running_step is not None and self.store.mark_interrupted(self.session_id):
            state = self.state()
        busy = state.running_step
        if busy is not None:
            raise StageBusy(f"{busy.title} is running in another window or process (pid {busy.runner_pid}).")
        return state

    def _emit_step(self, step_id: int) -> Step:
        step = self.store.step(step_id)
        self.on_event("step", {"step": step})
        return step

    def _finish_session(self) -> None:
        outcome = self.state().outcome()
        self.store.update_session(self.session_id, status=outcome)
        self.on_event("session", {"status": outcome})

    # -- running -----------------------------------------------------------------------------
    def run_stage(self, prompt: str | None = None) -> Step:
        """Run the next stage of the current branch with ``prompt`` (default: the prepared one).

        When the branch's tip ended without a result (a crash, a stop, a model error), that step
        runs again in place: same step, same branch.
        """
        self._begin()
        return self._run_stage(prompt)

    def _run_stage(self, prompt: str | None = None) -> Step:
        state = self._settled_state()
        stage, prepared = self.prepare_prompt(state)
        if stage is None:
            raise PipelineFinished("This branch is finished: fork from an earlier stage to try again.")
        prompt = prompt if prompt is not None else prepared
        retry = state.retry_step
        if retry is not None and retry.origin == "user":
            return self._rerun_code(retry)
        row = self._own_models_row(state)
        designer = stage in DESIGNER_STAGES
        spec = row["designer"] if designer else row["programmer"]
        cfg = state.settings
        if retry is not None:
            step = self.store.restart_step(retry.id, prompt=prompt, model=spec)
            # The state the stage works over is the branch before this step.
            state = SessionState(state.task, state.settings, state.steps[:-1])
        else:
            attempt = state.debug_attempts + 1 if stage == "debug" else 0
            tip = state.steps[-1].id if state.steps else None
            step = self.store.add_step(self.session_id, tip, stage, attempt=attempt, prompt=prompt, model=spec,
                                       timings={"started_at": time.time()})
        t_start = time.perf_counter()
        self.on_event("step", {"step": step})
        ask = self._ask(spec, step, cfg.designer_max_tokens if designer else cfg.programmer_max_tokens)
        try:
            outcome = stages.MODEL_STAGES[stage](state, ask, prompt)
        except ModelCallFailed as exc:
            self.store.update_step(step.id, status="error", error_type="ModelError", response=exc.partial,
                                   stderr=str(exc), stop_reason=str(exc),
                                   timings={**step.timings, "model_s": time.perf_counter() - t_start})
            return self._emit_step(step.id)
        reply = outcome.reply
        timings = {**step.timings, "model_s": reply.total_s, "ttft_s": reply.ttft_s}
        fields = dict(response=reply.text, prompt_tokens=reply.prompt_tokens,
                      completion_tokens=reply.completion_tokens, timings=timings)
        if reply.stopped:
            self.store.update_step(step.id, status="stopped", stop_reason="You stopped the model's answer.", **fields)
            return self._emit_step(step.id)
        if reply.stop_reason:
            # The answer looped: nothing to accept; "Retry with other settings" runs it again in place.
            self.store.update_step(step.id, status="stopped", error_type=MODEL_LOOP,
                                   stop_reason="The model repeated itself, so its answer was stopped.", **fields)
            return self._emit_step(step.id)
        if stage not in RUN_STAGES and stage != "final":
            if not reply.text.strip():
                # Nothing to accept or build on: the stage offers "Run again" instead.
                reason = "The model returned an empty answer."
                self.store.update_step(step.id, status="error", error_type=EMPTY_ANSWER, stderr=reason,
                                       stop_reason=reason, **fields)
                return self._emit_step(step.id)
            if stage == "hyperparameters" and not outcome.hyperparameters:
                fields.update(error_type=NO_HYPERPARAMETERS,
                              stderr="No hyperparameter could be read from the answer (expected `name: value` "
                                     "lines or JSON); the final run uses the program's own defaults. Edit the "
                                     "response to add them, or re-run the stage.")
            self.store.update_step(step.id, status="done", reference_code=outcome.reference_code,
                                   hyperparameters=outcome.hyperparameters, **fields)
            step = self._emit_step(step.id)
            self._finish_session()
            return step
        return self._run_program(step, outcome.code or "", outcome.syntax, reply, fields,
                                 debug_log=outcome.debug_log,
                                 kind="final" if stage == "final" or state.in_final_phase else "validate")

    def run_code(self, code: str) -> Step:
        """Validate code the user edited by hand (no model call): a 'validate' step on the branch."""
        self._begin()
        state = self.state()
        tip = state.steps[-1].id if state.steps else None
        attempt = sum(1 for s in state.steps if s.stage == "validate") + 1
        step = self.store.add_step(self.session_id, tip, "validate", attempt=attempt, origin="user",
                                   prompt="(code edited by hand; no model call)", code=code,
                                   timings={"started_at": time.time()})
        self.store.save_edit(self.session_id, step.id, "code", code)
        return self._validate_code(step, code)

    def _rerun_code(self, step: Step) -> Step:
        """A hand-edited validation run that ended without a result runs its code again, in place."""
        code = step.code or ""
        step = self.store.restart_step(step.id, code=code, prompt=step.prompt)
        return self._validate_code(step, code)

    def _validate_code(self, step: Step, code: str) -> Step:
        self.on_event("step", {"step": step})
        from backend.pipeline.extract import check_syntax

        reply = stages.ModelReply("", last_chunk_at=time.perf_counter())
        return self._run_program(step, code, check_syntax(code), reply, {"timings": step.timings},
                                 debug_log="Edited the code by hand", kind="validate")

    def _run_program(self, step: Step, code: str, syntax, reply: stages.ModelReply, fields: dict,
                     *, debug_log: str | None, kind: str) -> Step:
        timings = dict(fields.pop("timings", {}))
        if syntax is not None:
            # ast.parse failed: straight to the debug loop, no run spent.
            self.store.update_step(step.id, status="failed", code=code, debug_log=debug_log,
                                   error_type="SyntaxError", stderr=syntax.as_stderr(sandbox.PROGRAM_FILE),
                                   stdout="", timings=timings, **fields)
            step = self._emit_step(step.id)
            self._finish_session()
            return step
        t_record = time.perf_counter()
        self.store.update_step(step.id, code=code, debug_log=debug_log, **fields)
        record_before_s = time.perf_counter() - t_record

        def on_start(job_id: str) -> None:
            # Recorded at launch, so a window opened meanwhile (or after a crash) finds the job.
            self.store.update_step(step.id, job_id=job_id)
            self.on_event("running", {"step_id": step.id, "kind": kind, "job_id": job_id})

        def on_output(stream: str, text: str) -> None:
            self.on_event("output", {"step_id": step.id, "stream": stream, "text": text})

        run_called = time.perf_counter()
        try:
            run = sandbox.run_program(code, kind, self.store.settings(self.session_id), root=self.root, db=self.db,
                                      on_output=on_output, cancel=self.cancel,
                                      name=f"design #{self.session_id} {step.title.lower()}",
                                      origin=f"design:{step.id}", on_start=on_start)
        except (KeyError, OSError, RuntimeError) as exc:
            # The program could not be launched (an unknown executor, a job dir that cannot be
            # written): the stage says so and can run again; it is never left "running".
            reason = f"The program could not be started: {exc.args[0] if exc.args else type(exc).__name__}"
            self.store.update_step(step.id, status="error", error_type="LaunchError", stderr=reason,
                                   stop_reason=reason, timings=timings)
            return self._emit_step(step.id)
        t_after = time.perf_counter()
        status = "stopped" if run.status == JobStatus.CANCELLED else ("succeeded" if run.ok else "failed")
        timings.update(run.timings)
        timings["record_before_s"] = record_before_s
        if reply.last_chunk_at is not None:
            timings["chunk_to_run_s"] = run_called - reply.last_chunk_at
        reason = {"stopped": "You stopped the run."}.get(status)
        self.store.update_step(step.id, status=status, stdout=run.stdout, stderr=run.stderr, stop_reason=reason,
                               error_type=run.error_type, score=run.score, job_id=run.job_id, timings=timings)
        record_after_s = time.perf_counter() - t_after
        timings["record_after_s"] = record_after_s
        timings["overhead_s"] = timings.get("chunk_to_run_s", 0.0) + record_after_s
        self.store.update_step(step.id, timings=timings)
        step = self._emit_step(step.id)
        self._finish_session()
        return step

    def run_until(self, until: str | None = None, *, max_steps: int = 200) -> SessionState:
        """Run stages until ``until`` has run (default: to the end), a stop, or the branch finishes."""
        self._begin()
        if until is not None and until not in RAIL_STAGES:
            raise ValueError(f"--until must be one of {', '.join(RAIL_STAGES)}")
        for _ in range(max_steps):
            state = self.state()
            stage = state.next_stage()
            if stage is None or self.cancel.is_set():
                break
            if until is not None and RAIL_STAGES.index(until) < RAIL_STAGES.index(rail_stage(stage)):
                break
            step = self._run_stage()
            if step.status in ("error", "stopped") or self.cancel.is_set():
                break
            if until == step.stage and until != "debug":
                break
        return self.state()

