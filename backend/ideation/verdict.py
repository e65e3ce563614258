"""Green / amber / red: a check's numbers against the task's requirements, with reasons in words.

Red: a limit is exceeded (or the model could not be built, ran out of memory, the check timed out).
Amber: within ``CLOSE`` of a limit, or over a time limit where the time was measured on a CPU for a
task meant for a GPU (a GPU is usually much faster, so that is a warning, not a failure).
Green: everything measured is clearly under its limit.
"""

from __future__ import annotations

from backend.ideation.result import AMBER, GREEN, RED, CheckLimits, CheckResult

CLOSE = 0.8     # over 80% of a limit is "close"
GB = 1024**3


def human_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("TB", 1024**4), ("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{int(n)} B"


def human_count(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
    return f"{n:.0f}"


def human_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _limit_gb(gb: float) -> str:
    return f"{gb:g} GB" if gb >= 1 else human_bytes(gb * GB)


def judge(result: CheckResult, limits: CheckLimits) -> tuple[str, list[str]]:
    """The verdict and its reasons (the worst reason first)."""
    if result.status == "oom":
        return RED, [f"out of memory at batch {result.batch_size} on {result.device_name or result.device}: "
                     f"{result.error}"]
    if not result.ok:
        what = {"timeout": "the check did not finish in time", "no_model": "no model found",
                "cancelled": "the check was cancelled", "failed": "the check could not run"}.get(
            result.status, "the model could not be built or run")
        return RED, [f"{what}: {result.error}" if result.error else what]
    reds: list[str] = []
    ambers: list[str] = []
    cpu_timing = result.device == "cpu" and limits.gpu_task
    measured = "" if result.measured_batch == result.batch_size else f" (scaled from batch {result.measured_batch})"

    if limits.memory_gb and result.peak_memory_bytes is not None:
        used, limit = result.peak_memory_bytes, limits.memory_gb * GB
        said = f"~{human_bytes(used)} at batch {result.batch_size}"
        if used > limit:
            reds.append(f"{said} > {_limit_gb(limits.memory_gb)}{measured}")
        elif used > CLOSE * limit:
            ambers.append(f"{said} is close to {_limit_gb(limits.memory_gb)}{measured}")
    if limits.train_time_s and result.epoch_s is not None:
        said = f"one epoch ~{human_seconds(result.epoch_s)}"
        where = " (measured on the CPU; a GPU is faster)" if cpu_timing else ""
        if result.epoch_s > limits.train_time_s:
            (ambers if cpu_timing else reds).append(
                f"{said} > the {human_seconds(limits.train_time_s)} training budget{where}")
        elif result.epoch_s > CLOSE * limits.train_time_s:
            ambers.append(f"{said} is close to the {human_seconds(limits.train_time_s)} training budget{where}")
    if limits.inference_s_per_example and result.forward_ms is not None and result.batch_size:
        per_example = result.forward_ms / 1000 / result.batch_size
        said = f"inference ~{human_seconds(per_example)} per example"
        where = " (measured on the CPU)" if cpu_timing else ""
        limit = limits.inference_s_per_example
        if per_example > limit:
            (ambers if cpu_timing else reds).append(f"{said} > {human_seconds(limit)}{where}")
        elif per_example > CLOSE * limit:
            ambers.append(f"{said} is close to {human_seconds(limit)}{where}")
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
                     f"FLOPs per example, ~{human_bytes(result.peak_memory_bytes)} for a training step at batch "
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
