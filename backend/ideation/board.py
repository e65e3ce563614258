"""The proposal board: N designs for one task at once, side by side, each an attempt in the session tree.

Ask the designer for N proposals (N samples at a temperature, N designer models, or both), streamed
in parallel (:mod:`.streams`); each answer is a Propose step at the root of the session's tree, so
every card is its own branch and shows in Traces. "Continue with this" moves the session's tip to
a card's branch; "Merge" asks the designer to combine two cards into a new one; "Check" measures a
card's model against the task's requirements (:mod:`.card_check`). Qt-free: the Design workspace's
board, the ``deepones design propose`` command and the tests drive the same object.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from backend.errors import UserError
from backend.ideation.cards import ProposalCard, cards_from_steps, code_hash
from backend.ideation.streams import BackendFactory, ParallelStreams, StreamRequest, StreamResult
from backend.llm.base import ChatBackend, GenerationSettings
from backend.llm.degenerate import MODEL_LOOP
from backend.pipeline import prompts, stages
from backend.pipeline.state import SessionState
from backend.pipeline.store import SessionStore

# Events: ("card", {"card"}) when a card is added or changes, ("chunk", {"step_id", "text"}) while it streams.
EventCallback = Callable[[str, dict], None]
DEFAULT_TEMPERATURE = 0.8  # samples of one model need some spread; the pipeline's 0.2 gives near-copies
MAX_PROPOSALS = 16
MERGE_INSTRUCTION = "Combine the strongest part of design B into design A."


class BoardError(UserError, ValueError):
    """A request the board cannot run; ``str(exc)`` is fit to show the user."""


@dataclass(frozen=True)
class ProposalPlan:
    designer: str
    temperature: float
    sample: int  # 1-based: the sample's number for this designer


def plan_proposals(
    n: int, designers: list[str], temperature: float = DEFAULT_TEMPERATURE
) -> list[ProposalPlan]:
    """``n`` proposals shared round-robin over ``designers`` (4 over A,B: A, B, A, B)."""
    designers = [d.strip() for d in designers if d and d.strip()]
    if not designers:
        raise BoardError("Name at least one designer model.")
    if not 1 <= n <= MAX_PROPOSALS:
        raise BoardError(f"Ask for between 1 and {MAX_PROPOSALS} proposals (not {n}).")
    if not 0.0 <= temperature <= 2.0:
        raise BoardError(f"The temperature must be between 0 and 2 (not {temperature:g}).")
    counts: dict[str, int] = {}
    plans = []
    for i in range(n):
        designer = designers[i % len(designers)]
        counts[designer] = counts.get(designer, 0) + 1
        plans.append(ProposalPlan(designer, temperature, counts[designer]))
    return plans


class ProposalBoard:
    """One design session's proposal board (one instance per thread: it holds a store connection)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        session_id: int,
        *,
        root: Path | None = None,
        backend_factory: BackendFactory | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        self.store = SessionStore(db)
        self.db = db
        self.session_id = session_id
        self.root = root
        self.on_event = on_event or (lambda kind, payload: None)
        self._factory = backend_factory
        self._backends: dict[str, ChatBackend] = {}  # only those this board made itself (closed by close())
        self._lock = threading.Lock()
        self._streams: ParallelStreams | None = None
        self._cancel = threading.Event()
        self.store.session_row(session_id)  # SessionNotFound early, not at the first click

    # -- reading -----------------------------------------------------------------------------
    def cards(self) -> list[ProposalCard]:
        return cards_from_steps(self.store.steps(self.session_id))

    def card(self, step_id: int) -> ProposalCard:
        card = next((c for c in self.cards() if c.step_id == step_id), None)
        if card is None:
            raise BoardError(f"Step {step_id} is not a proposal of session {self.session_id}.")
        return card

    def state(self) -> SessionState:
        return self.store.state(self.session_id)

    def default_prompt(self) -> str:
        """The Propose prompt of this session's task (the template, before any proposal)."""
        state = self.state()
        return stages.build_prompt("propose", SessionState(state.task, state.settings, []), self.root)

    # -- models ------------------------------------------------------------------------------
    def _backend(self, spec: str) -> ChatBackend:
        if self._factory is not None:
            return self._factory(spec)
        with self._lock:
            if spec not in self._backends:
                from backend.llm.resolve import get_backend

                self._backends[spec] = get_backend(spec)
            return self._backends[spec]

    def stop(self) -> None:
        """Stop every answer streaming now, and a check in progress (thread-safe)."""
        self._cancel.set()
        streams = self._streams
        if streams is not None:
            streams.stop()

    @property
    def stopped(self) -> bool:
        """Stop was asked since the last request began."""
        return self._cancel.is_set()

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()

    # -- asking ------------------------------------------------------------------------------
    def propose(
        self,
        n: int,
        designers: list[str] | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        prompt: str | None = None,
    ) -> list[ProposalCard]:
        """Ask for ``n`` proposals at once; returns their cards (in the order asked) once all have ended.

        ``designers`` defaults to the session's designer; ``prompt`` to the task's Propose prompt.
        """
        row = self.store.session_row(self.session_id)
        plans = plan_proposals(n, designers or [row["designer"]], temperature)
        prompt = prompt if prompt is not None and prompt.strip() else self.default_prompt()
        cfg = self.store.settings(self.session_id)
        settings = {
            plan: GenerationSettings(
                temperature=plan.temperature,
                max_tokens=cfg.designer_max_tokens,
                repeat_penalty=cfg.repeat_penalty,
                seed=random.randrange(2**31),
            )
            for plan in plans
        }
        extra = [
            {
                "temperature": plan.temperature,
                "sample": plan.sample,
                "seed": settings[plan].seed,
                "board": "sample",
            }
            for plan in plans
        ]
        requests = [
            (plan.designer, prompt, settings[plan], info) for plan, info in zip(plans, extra, strict=True)
        ]
        return self._ask(requests)

    def merge(
        self,
        a_id: int,
        b_id: int,
        instruction: str = "",
        designer: str | None = None,
        temperature: float | None = None,
    ) -> ProposalCard:
        """Ask the designer to combine card ``b_id`` into card ``a_id``: a new card (a new root attempt)."""
        if a_id == b_id:
            raise BoardError("Pick two different proposals to merge.")
        a, b = self.card(a_id), self.card(b_id)
        for card, name in ((a, "A"), (b, "B")):
            if not card.text.strip():
                raise BoardError(f"Proposal {name} (step {card.step_id}) has no answer to merge.")
        instruction = " ".join(instruction.split()) or MERGE_INSTRUCTION
        state = self.state()
        prompt = prompts.render(
            prompts.template_path("merge", self.root).read_text("utf-8"),
            {
                "task": state.task.description(),
                "requirements": state.task.requirements.as_lines(),
                "design_a": a.text.strip(),
                "design_b": b.text.strip(),
                "instruction": instruction,
            },
        )
        spec = designer or self.store.session_row(self.session_id)["designer"]
        cfg = state.settings
        temp = cfg.temperature if temperature is None else temperature
        settings = GenerationSettings(
            temperature=temp, max_tokens=cfg.designer_max_tokens, repeat_penalty=cfg.repeat_penalty
        )
        info = {
            "temperature": temp,
            "board": "merge",
            "merged_from": [a_id, b_id],
            "instruction": instruction,
        }
        return self._ask([(spec, prompt, settings, info)])[0]

    def _ask(self, requests: list[tuple[str, str, GenerationSettings, dict]]) -> list[ProposalCard]:
        self._cancel.clear()
        tip = self.store.session_row(self.session_id)["current_step_id"]
        step_ids = []
        for spec, prompt, _settings, info in requests:
            step = self.store.add_step(
                self.session_id,
                None,
                "propose",
                prompt=prompt,
                model=spec,
                timings={"started_at": time.time(), **info},
            )
            step_ids.append(step.id)
        # Adding a step moves the session's tip to it; the board's cards are side branches until one
        # is picked ("Continue with this"), so the branch being worked on stays where it was.
        self.store.update_session(self.session_id, current_step_id=tip)
        for step_id in step_ids:
            self.on_event("card", {"card": self.card(step_id)})
        stream_requests = [
            StreamRequest(step_id, spec, prompt, settings)
            for step_id, (spec, prompt, settings, _info) in zip(step_ids, requests, strict=True)
        ]

        # Where a recorded (replay) conversation goes on, read here on the caller's thread, before the
        # lanes start: the answers each model has already given in this session.
        positions = {spec: self.store.answers_given(self.session_id, spec) for spec, *_ in requests}
        streams = ParallelStreams(
            stream_requests,
            self._backend,
            resume=lambda backend, spec: backend.resume_after(positions.get(spec, 0)),
        )
        self._streams = streams
        if self._cancel.is_set():  # Stop came while the cards were being added: send nothing
            streams.stop()
        try:
            for kind, key, payload in streams.run():
                if kind == "chunk":
                    self.on_event("chunk", {"step_id": key, "text": payload})
                else:
                    self._record(key, payload)
        finally:
            self._streams = None
            streams.close()
        return [self.card(step_id) for step_id in step_ids]

    def _record(self, step_id: int, result: StreamResult) -> None:
        step = self.store.step(step_id)
        timings = {
            **step.timings,
            "model_s": result.total_s,
            "ttft_s": result.ttft_s,
            "tokens_per_s": round(result.tokens_per_s, 2) if result.tokens_per_s else None,
        }
        fields = dict(
            response=result.text,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            timings=timings,
        )
        if result.error is not None:
            self.store.update_step(
                step_id,
                status="error",
                error_type="ModelError",
                stderr=result.error,
                stop_reason=result.error,
                **fields,
            )
        elif result.stop_reason:
            self.store.update_step(
                step_id,
                status="stopped",
                error_type=MODEL_LOOP,
                stop_reason="The model repeated itself, so its answer was stopped.",
                **fields,
            )
        elif result.stopped:
            self.store.update_step(
                step_id, status="stopped", stop_reason="You stopped the model's answer.", **fields
            )
        elif not result.text.strip():
            reason = "The model returned an empty answer."
            self.store.update_step(
                step_id, status="error", error_type="EmptyAnswer", stderr=reason, stop_reason=reason, **fields
            )
        else:
            self.store.update_step(step_id, status="done", **fields)
        self.on_event("card", {"card": self.card(step_id)})

    # -- picking -----------------------------------------------------------------------------
    def continue_with(self, step_id: int) -> int:
        """Go on with this card: the session's tip moves to the newest step of its branch (the card
        itself when nothing ran after it). Returns the new tip."""
        card = self.card(step_id)
        if card.status != "done":
            raise BoardError(f"Proposal {step_id} has no finished answer to continue with ({card.status}).")
        tip = card.leaf_id or card.step_id
        self.store.fork(self.session_id, tip)
        return tip

    # -- checking ----------------------------------------------------------------------------
    def check(self, step_id: int) -> ProposalCard:
        """Measure the card's model (its branch's program, or the model code in the proposal) against
        the task's requirements in a sandboxed job; the result is kept on the card's step."""
        from backend.ideation import card_check

        card = self.card(step_id)
        if not card.code.strip():
            raise BoardError(
                "Nothing to check yet: this proposal has no model code. Continue with it and "
                "implement it, then check."
            )
        self._cancel.clear()
        state = self.state()
        result = card_check.check_code(
            card.code,
            state.task,
            state.settings,
            db=self.db,
            root=self.root,
            cancel=self._cancel,
            origin=f"design:{step_id}:check",
        )
        step = self.store.step(step_id)
        self.store.update_step(
            step_id,
            timings={
                **step.timings,
                "check": {
                    "result": result,
                    "code_sha": code_hash(card.code),
                    "source": card.code_source,
                    "at": time.time(),
                },
            },
        )
        updated = self.card(step_id)
        self.on_event("card", {"card": updated})
        return updated
