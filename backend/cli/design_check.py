"""``deepones design check`` and ``deepones design diagram``: size and draw a program's model without
training it. The program runs only inside a sandboxed job (see :mod:`backend.ideation.check`).

Exit codes of ``check``: 0 green or amber; 3 red (over a requirement); 1 the model could not be
built or run, or the check timed out (the traceback is printed); 2 bad usage.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click

from backend.cli.common import fail, plain, positive_seconds, run_interruptible, store_or_exit

EXIT_NOT_BUILT, EXIT_RED = 1, 3


def _shape(ctx, param, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(part) for part in value.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected sizes separated by commas, e.g. 3,32,32 (got {value!r})") from None
    if not shape or any(n <= 0 for n in shape):
        raise click.BadParameter(f"every size must be a positive integer (got {value!r})")
    return shape


def _request(task_name, input_shape, batch_size, memory_limit, device, dtype, vocab_size, train_examples,
             timeout, diagram=True):
    from backend.ideation.result import CheckLimits, CheckRequest
    from backend.pipeline import TaskError, get_task

    if not task_name and input_shape is None:
        fail("give --task NAME (see `deepones design --list-tasks`) or --input-shape, e.g. 3,32,32")
    overrides = {"input_shape": input_shape, "batch_size": batch_size, "device": device, "dtype": dtype,
                 "vocab_size": vocab_size, "train_examples": train_examples, "timeout_s": timeout,
                 "diagram": diagram}
    if task_name:
        try:
            request = CheckRequest.for_task(get_task(task_name), **overrides)
        except (TaskError, ValueError) as exc:
            fail(str(exc))
    else:
        request = CheckRequest(**{k: v for k, v in overrides.items() if v is not None}, batch_size=batch_size or 32)
    if memory_limit is not None:
        limits = request.limits
        request = CheckRequest(**{**request.__dict__, "limits": CheckLimits(
            memory_gb=memory_limit, train_time_s=limits.train_time_s,
            inference_s_per_example=limits.inference_s_per_example, gpu_task=limits.gpu_task)})
    return request


def _run(program: str, request):
    from backend.ideation.check import check_file

    db = store_or_exit()
    cancel = threading.Event()
    result, interrupted = run_interruptible(lambda: check_file(program, request, db=db, cancel=cancel,
                                                               origin="cli:design check"), cancel)
    if interrupted:
        fail("cancelled", 130)
    return result


def _check_options(fn):
    options = [
        click.option("--task", "task_name", metavar="NAME", help="Input shape, batch and requirements from this task."),
        click.option("--input-shape", callback=_shape, metavar="C,H,W", help="One example's shape, e.g. 3,32,32."),
        click.option("--batch-size", type=click.IntRange(1), help="Batch of a training step (default: the task's)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True),
        click.option("--dtype", type=click.Choice(["float32", "int64"]), help="int64: token ids (see --vocab-size)."),
        click.option("--vocab-size", type=click.IntRange(2), help="Token ids are drawn below this."),
        click.option("--timeout", type=float, default=300.0, show_default=True, callback=positive_seconds,
                     metavar="S", help="Stop the check after S seconds."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("check")
@click.argument("program", type=click.Path(dir_okay=False))
@_check_options
@click.option("--memory-limit", type=click.FloatRange(min=0, min_open=True), metavar="GB",
              help="Memory a training step may take (default: the task's requirement).")
@click.option("--train-examples", type=click.IntRange(1), help="Examples per epoch (default: the task's).")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON object.")
def check(program, task_name, input_shape, batch_size, device, dtype, vocab_size, timeout, memory_limit,
          train_examples, as_json) -> None:
    """Build PROGRAM's model in a sandboxed job, run one training step on a dummy batch and judge the
    numbers against the requirements: green, amber or red. The program's main block never runs; the
    model is its build_model(), else its largest nn.Module that builds without arguments."""
    import sys

    from backend.ideation.formatting import human_count, human_seconds
    from backend.units import format_bytes

    if not Path(program).is_file():
        fail(f"no such program file: {program}")
    request = _request(task_name, input_shape, batch_size, memory_limit, device, dtype, vocab_size,
                       train_examples, timeout, diagram=False)
    result = _run(program, request)
    if result.ok:
        scaled = "" if result.measured_batch == result.batch_size else f" (measured at batch {result.measured_batch})"
        rows = [("model", f"{result.model}  [{result.found_by}]"),
                ("parameters", f"{result.params:,} ({result.trainable_params:,} trainable)"),
                ("FLOPs/example", f"{human_count(result.flops_per_sample)} (forward)"),
                ("peak memory", f"~{format_bytes(result.peak_memory_bytes)} at batch {result.batch_size}, "
                                f"{result.memory_method}{scaled}"),
                ("forward", f"{result.forward_ms:.1f} ms per batch of {result.batch_size} on {result.device_name}"),
                ("training step", f"{result.step_ms:.1f} ms per batch"),
                ("epoch", f"~{human_seconds(result.epoch_s)}" if result.epoch_s is not None else "? (no dataset size)")]
        for label, value in rows:
            click.echo(f"{label:<14} {plain(value)}")
    else:
        click.echo(plain(result.traceback or result.error), err=True)
    click.echo(f"verdict        {result.verdict.upper()}")
    for reason in result.reasons:
        click.echo(f"  - {plain(reason)}")
    if as_json:
        click.echo(json.dumps({"program": str(program), **result.to_dict(with_diagram=False)}))
    if not result.ok:
        sys.exit(EXIT_NOT_BUILT)
    if result.verdict == "red":
        sys.exit(EXIT_RED)


@click.command("diagram")
@click.argument("program", type=click.Path(dir_okay=False))
@_check_options
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .svg, .png (drawn by headless Chromium) or .json (the graph data).")
@click.option("--depth", type=click.IntRange(1), default=1, show_default=True, help="Module depth to show.")
def diagram(program, task_name, input_shape, batch_size, device, dtype, vocab_size, timeout, out, depth) -> None:
    """Draw PROGRAM's model as a graph (modules with output shapes and parameter counts) from a traced
    forward pass of a dummy batch, run in a sandboxed job."""
    import sys

    from backend.ideation.svg import diagram_to_svg

    if not Path(program).is_file():
        fail(f"no such program file: {program}")
    target = Path(out)
    if target.suffix.lower() not in (".svg", ".png", ".json"):
        fail(f"--out must end in .svg, .png or .json (got {target.name})")
    request = _request(task_name, input_shape, batch_size, None, device, dtype, vocab_size, None, timeout)
    result = _run(program, request)
    if not result.ok or not result.diagram:
        click.echo(plain(result.traceback or result.error or "the check returned no diagram"), err=True)
        sys.exit(EXIT_NOT_BUILT)
    suffix = target.suffix.lower()
    try:
        if suffix == ".json":
            target.write_text(json.dumps(result.diagram, indent=1), "utf-8")
        elif suffix == ".svg":
            target.write_text(diagram_to_svg(result.diagram, depth), "utf-8")
        else:
            from backend.ideation.png import svg_to_png

            svg_to_png(diagram_to_svg(result.diagram, depth), target)
    except (OSError, RuntimeError) as exc:
        fail(f"cannot write {target}: {exc}")
    click.echo(f"{result.model}: {len(result.diagram['nodes'])} nodes (traced with {result.diagram['traced_with']}) "
               f"-> {target}")


SUBCOMMANDS = [check, diagram]
