"""Green / amber / red: a check's numbers against the task's requirements, with reasons in words.

Red: a limit is exceeded (or the model could not be built, ran out of memory, the check timed out).
Amber: within ``CLOSE`` of a limit, or over a time limit where the time was measured on a CPU for a
task meant for a GPU (a GPU is usually much faster, so that is a warning, not a failure).
Green: everything measured is clearly under its limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.ideation.formatting import human_count, human_seconds
from backend.ideation.result import AMBER, GREEN, RED, CheckLimits, CheckResult
from backend.units import format_bytes

CLOSE = 0.8     # over 80% of a limit is "close"
GB = 10**9       # decimal, as every size in the app (backend.units)


def _limit_gb(gb: float) -> str:
    return f"{gb:g} GB" if gb >= 1 else format_bytes(gb * GB)


@dataclass(frozen=True)
class Row:
    """One measure next to its requirement, for the check panel, the cards and the CLI."""

    label: str
    measured: str
    requirement: str = ""
    level: str = ""          # green | amber | red; "" when there is no requirement to compare with
    reason: str = ""         # why it is amber or red


def _level(value: float, limit: float) -> str:
    return RED if value > limit else AMBER if value > CLOSE * limit else GREEN


def rows(result: CheckResult, limits: CheckLimits) -> list[Row]:
    """Every measure of an ``ok`` result, judged against ``limits`` where there is one."""
    cpu_timing = result.device == "cpu" and limits.gpu_task
    scaled = "" if result.measured_batch == result.batch_size else f" (scaled from batch {result.measured_batch})"
    out = [Row("Parameters", f"{human_count(result.params)} ({human_count(result.trainable_params)} trainable)"),
           Row("FLOPs / example", f"{human_count(result.flops_per_sample)} (forward)")]
    said = f"~{format_bytes(result.peak_memory_bytes)} at batch {result.batch_size}"
    if limits.memory_gb and result.peak_memory_bytes is not None:
        level = _level(result.peak_memory_bytes, limits.memory_gb * GB)
        limit = _limit_gb(limits.memory_gb)
        reason = {RED: f"{said} > {limit}{scaled}", AMBER: f"{said} is close to {limit}{scaled}"}.get(level, "")
        out.append(Row("Peak memory", said + scaled, f"≤ {limit}", level, reason))
    else:
        out.append(Row("Peak memory", said + scaled))
    if result.forward_ms is not None and result.batch_size:
        per_example = result.forward_ms / 1000 / result.batch_size
        measured = f"{human_seconds(per_example)} / example ({result.forward_ms:.0f} ms / batch)"
        if limits.inference_s_per_example:
            limit = limits.inference_s_per_example
            level = _level(per_example, limit)
            where = " (measured on the CPU)" if cpu_timing else ""
            said = f"inference ~{human_seconds(per_example)} per example"
            reason = {RED: f"{said} > {human_seconds(limit)}{where}",
                      AMBER: f"{said} is close to {human_seconds(limit)}{where}"}.get(level, "")
            if level == RED and cpu_timing:
                level = AMBER     # a GPU task timed on a CPU: a warning, not a failure
            out.append(Row("Inference", measured, f"≤ {human_seconds(limit)} / example", level, reason))
        else:
            out.append(Row("Inference", measured))
    if result.epoch_s is not None:
        measured = f"~{human_seconds(result.epoch_s)} ({result.step_ms:.0f} ms / step)"
        if limits.train_time_s:
            budget = human_seconds(limits.train_time_s)
            level = _level(result.epoch_s, limits.train_time_s)
            where = " (measured on the CPU; a GPU is faster)" if cpu_timing else ""
            said = f"one epoch ~{human_seconds(result.epoch_s)}"
            reason = {RED: f"{said} > the {budget} training budget{where}",
                      AMBER: f"{said} is close to the {budget} training budget{where}"}.get(level, "")
            if level == RED and cpu_timing:
                level = AMBER
            out.append(Row("Epoch", measured, f"≤ {budget} training", level, reason))
        else:
            out.append(Row("Epoch", measured))
    return out


def judge(result: CheckResult, limits: CheckLimits) -> tuple[str, list[str]]:
    """The verdict and its reasons (red reasons first)."""
    if result.status == "oom":
        return RED, [f"out of memory at batch {result.batch_size} on {result.device_name or result.device}: "
                     f"{result.error}"]
    if not result.ok:
        what = {"timeout": "the check did not finish in time", "no_model": "no model found",
                "cancelled": "the check was cancelled", "failed": "the check could not run"}.get(
            result.status, "the model could not be built or run")
        return RED, [f"{what}: {result.error}" if result.error else what]
    judged = rows(result, limits)
    reds = [r.reason for r in judged if r.level == RED]
    ambers = [r.reason for r in judged if r.level == AMBER]
    if reds:
        return RED, reds + ambers
    if ambers:
        return AMBER, ambers
    return GREEN, ["within every requirement checked"]


def apply_verdict(result: CheckResult, limits: CheckLimits) -> CheckResult:
    result.verdict, result.reasons = judge(result, limits)
    result.limits = limits.to_dict()
    return result


def send_back_message(result: CheckResult) -> str:
    """The note for the designer when a design is over its limits ("too big: reduce to under 15 GB")."""
    limits = CheckLimits(**result.limits) if result.limits else CheckLimits()
    lines = [f"The model check of your design ({result.model or 'the model'}) found problems:"]
    lines += [f"- {reason}" for reason in result.reasons]
    asks = []
    if result.ok:
        lines.append(f"Measured: {human_count(result.params)} parameters, {human_count(result.flops_per_sample)}"
                     f"FLOPs per example, ~{format_bytes(result.peak_memory_bytes)} for a training step at batch "
                     f"{result.batch_size}, forward {result.forward_ms:.1f} ms per batch.")
        if limits.memory_gb and (result.peak_memory_bytes or 0) > CLOSE * limits.memory_gb * GB:
            asks.append(f"too big: reduce the memory of a training step to under {_limit_gb(limits.memory_gb)}")
        if limits.train_time_s and (result.epoch_s or 0) > CLOSE * limits.train_time_s:
            asks.append(f"too slow to train: one epoch must take well under {human_seconds(limits.train_time_s)}")
        if limits.inference_s_per_example and result.batch_size and (
                (result.forward_ms or 0) / 1000 / result.batch_size > CLOSE * limits.inference_s_per_example):
            asks.append(f"too slow at inference: under {human_seconds(limits.inference_s_per_example)} per example")
    else:
        asks.append("the model must build and run a forward pass on the task's input; fix the error above")
    lines += [f"Please revise the design: {'; '.join(asks)}." if asks else "Please revise the design."]
    return "\n".join(lines)
