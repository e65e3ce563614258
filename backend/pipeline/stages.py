"""One function per DeepBench stage, over a :class:`SessionState` (paper section 4.3).

propose(T) -> A_B; improve(A_B) -> A_I, C_R; implement(T, A_I) -> C_0;
debug(T, C_{i-1}, O_{i-1}, E_{i-1}, L_1..L_{i-1}) -> C_i, L_i; hyperparameters(T, A_I, C_i) -> H_O;
final(C_i, H_O, T) -> C_O. validate(C) and full_run(C_O) run programs (see :mod:`.sandbox`).

The model call is passed in (``ask(prompt) -> ModelReply``), so the functions stay pure text work:
the runner streams, records and times; the tests can call them with any backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.pipeline import prompts
from backend.pipeline.extract import (
    SyntaxProblem,
    check_syntax,
    extract_code,
    extract_debug_log,
    parse_hyperparameters,
    prose_only,
)
from backend.pipeline.state import SessionState, template_stage


@dataclass
class ModelReply:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    total_s: float = 0.0
    last_chunk_at: float | None = None   # time.perf_counter() at the last chunk
    stopped: bool = False
    stop_reason: str | None = None       # ended by the backend, e.g. the loop detector (llm.degenerate)


Ask = Callable[[str], ModelReply]


@dataclass
class StageOutcome:
    stage: str
    prompt: str
    reply: ModelReply
    code: str | None = None
    reference_code: str | None = None
    hyperparameters: dict | None = None
    debug_log: str | None = None
    syntax: SyntaxProblem | None = None
    timings: dict = field(default_factory=dict)


def prompt_values(stage: str, state: SessionState) -> dict[str, object]:
    task, cfg = state.task, state.settings
    last = state.last_run
    return {
        "task": task.description(),
        "requirements": task.requirements.as_lines(),
        "metric": task.metric,
        "proposal": state.proposal or "(no proposal yet)",
        # C_R goes in its own slot, so A_I is given as prose (no second copy of the code).
        "improved": (prose_only(state.improved) if state.reference_code else state.improved) or "(no architecture yet)",
        "reference_code": state.reference_code or "# (no reference code given)",
        "code": state.code,
        "stdout": prompts.tail(last.stdout if last else ""),
        "stderr": prompts.tail(last.stderr if last else ""),
        "error_type": (last.error_type if last else None) or "unknown",
        "debug_log": "\n".join(f"{i}. {line}" for i, line in enumerate(state.debug_logs, 1)) or "(none yet)",
        "attempt": state.debug_attempts + 1,
        "max_debug": cfg.max_debug,
        "hyperparameters": state.hyperparameters_text,
        "subset_size": cfg.subset_size,
        "time_limit": int(cfg.time_limit_s),
        "train_time_limit": int(cfg.train_time_limit_s),
    }


def build_prompt(stage: str, state: SessionState, root: Path | None = None) -> str:
    """The prompt for ``stage`` from its template; shown (and editable) before it is sent."""
    return prompts.render(prompts.load_template(template_stage(stage), root), prompt_values(stage, state))


def _program(stage: str, prompt: str, reply: ModelReply, **extra) -> StageOutcome:
    code = extract_code(reply.text)
    return StageOutcome(stage, prompt, reply, code=code, syntax=check_syntax(code), **extra)


def propose(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """A_B = M_D(T): a backbone under the requirements."""
    prompt = prompt or build_prompt("propose", state)
    return StageOutcome("propose", prompt, ask(prompt))


def improve(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """A_I, C_R = M_D(A_B): an improved architecture and reference code (or pseudocode)."""
    prompt = prompt or build_prompt("improve", state)
    reply = ask(prompt)
    return StageOutcome("improve", prompt, reply, reference_code=extract_code(reply.text) or None)


def implement(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """C_0 = M_P(T, A_I)."""
    prompt = prompt or build_prompt("implement", state)
    return _program("implement", prompt, ask(prompt))


def debug(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """C_i, L_i = M_P(T, C_{i-1}, O_{i-1}, E_{i-1}, L_1..L_{i-1})."""
    prompt = prompt or build_prompt("debug", state)
    reply = ask(prompt)
    last = state.last_run
    out = _program("debug", prompt, reply)
    out.debug_log = extract_debug_log(reply.text, last.error_type if last else None)
    return out


def hyperparameters(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """H_O = M_D(T, A_I, C_i), parsed into named values."""
    prompt = prompt or build_prompt("hyperparameters", state)
    reply = ask(prompt)
    return StageOutcome("hyperparameters", prompt, reply, hyperparameters=parse_hyperparameters(reply.text))


def final(state: SessionState, ask: Ask, prompt: str | None = None) -> StageOutcome:
    """C_O = M_P(C_i, H_O, T): full data, those hyperparameters, stop at the time limit."""
    prompt = prompt or build_prompt("final", state)
    return _program("final", prompt, ask(prompt))


MODEL_STAGES: dict[str, Callable[..., StageOutcome]] = {
    "propose": propose, "improve": improve, "implement": implement, "debug": debug,
    "hyperparameters": hyperparameters, "final": final,
}
