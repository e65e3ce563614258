"""Job commands: ``deepones run``, ``deepones jobs list|show|logs|cancel``, ``deepones metrics``."""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import click

from backend.cli.common import fail, positive_seconds, run_interruptible, store_or_exit
from backend.jobs.spec import JobStatus

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size_mb(text: str) -> float:
    """'512M', '2G', '1.5GiB', '300' (MB) -> megabytes."""
    m = SIZE.match(text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a size (examples: 512M, 2G)")
    value, unit = float(m.group(1)), m.group(2).lower()
    return value * {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[unit]


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--interpreter", help="Python that runs the program (default: the execution environment in settings).")
@click.option("--time-limit", type=float, default=None, callback=positive_seconds,
              help="Wall-clock limit in seconds (default 4200).")
@click.option("--train-time-limit", type=float, default=None, callback=positive_seconds,
              help="Passed as DEEPONES_TRAIN_TIME_LIMIT (default 3600).")
@click.option("--memory-limit", default=None, help="Resident memory limit of the whole process tree, e.g. 4G.")
@click.option("--no-network", is_flag=True, help="Run without network (loopback included); refused if impossible.")
@click.option("--gpu", default=None, help="CUDA_VISIBLE_DEVICES for the job, e.g. 0 or 0,1 (queued per GPU).")
@click.option("--allow-env", multiple=True, help="Pass this secret-looking environment variable through (repeatable).")
@click.option("--name", default="", help="A name for the job list.")
@click.argument("program")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(interpreter, time_limit, train_time_limit, memory_limit, no_network, gpu, allow_env, name, program, args):
    """Run PROGRAM.py [ARGS...] as a sandboxed job; stream its output; print a JSON result line last.

    Options go before the program; everything after it is passed to the program. Exit code 0 only
    when the job succeeded.
    """
    from backend.jobs import JobError, JobLimits, run_job
    from backend.jobs.spec import ProgramUnreadable, program_spec

    src = Path(program)
    if not src.is_file():
        fail(f"{program}: no such file")
    limits = JobLimits()
    if time_limit is not None:
        limits.time_limit_s = time_limit
    if train_time_limit is not None:
        limits.train_time_limit_s = train_time_limit
    if memory_limit:
        limits.memory_limit_mb = parse_size_mb(memory_limit)
    try:
        spec = program_spec(src, args=list(args), interpreter=interpreter, name=name, origin="cli")
    except ProgramUnreadable as exc:
        fail(str(exc))
    spec.allow_env, spec.limits, spec.no_network, spec.gpu = list(allow_env), limits, no_network, gpu
    store = store_or_exit()
    cancel = threading.Event()

    def on_output(stream: str, chunk: str) -> None:
        target = sys.stdout if stream == "stdout" else sys.stderr
        target.write(chunk)
        target.flush()

    try:
        result, _ = run_interruptible(lambda: run_job(spec, db=store, on_output=on_output, cancel=cancel), cancel,
                                      "cancelling the job…")
    except JobError as exc:
        fail(str(exc))
    sys.stdout.write("\n" if _needs_newline(result.stdout_path) else "")
    click.echo(json.dumps({"job_id": result.job_id, "status": result.status, "exit_code": result.exit_code,
                           "score": result.score, "wall_s": round(result.wall_s, 3),
                           "peak_rss_mb": round(result.peak_rss_mb, 1)}))
    sys.exit(0 if result.status == JobStatus.SUCCEEDED else 1)


def _needs_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return False
            fh.seek(-1, 2)
            return fh.read(1) != b"\n"
    except OSError:
        return False


@click.group()
def jobs() -> None:
    """List, inspect, follow and cancel jobs."""


def _job_or_exit(store, job_id: str) -> dict:
    from backend.jobs import records

    records.sync_jobs(store)
    row = records.get_job(store, job_id)
    if row is None:
        fail(f"no job {job_id!r} (see `deepones jobs list`)")
    return row


_JOB_LINE = "{:<22}  {:<9}  {:>8}  {:<8}  {}"


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", default=50, show_default=True)
def jobs_list(as_json: bool, limit: int) -> None:
    """Jobs, newest first (running jobs are re-checked; vanished ones are marked lost)."""
    from backend.jobs import records

    store = store_or_exit()
    records.sync_jobs(store)
    rows = records.list_jobs(store, limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo("No jobs yet (start one with `deepones run PROGRAM.py`).")
        return
    click.echo(_JOB_LINE.format("JOB", "STATUS", "WALL", "SCORE", "NAME"))
    for row in rows:
        score = "" if row["score"] is None else f"{row['score']:.4g}"
        wall = "" if row["wall_s"] is None else f"{row['wall_s']:.1f}s"
        click.echo(_JOB_LINE.format(row["id"], row["status"], wall, score, row["name"]))


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """The job's record and status file as JSON."""
    from backend.jobs import records
    from backend.jobs.status import confinement_summary, read_status

    store = store_or_exit()
    row = _job_or_exit(store, job_id)
    row["status_file"] = read_status(Path(row["workdir"]))
    row["confinement"] = confinement_summary(row["status_file"])
    row["metrics"] = records.job_metric_names(store, row["id"])
    click.echo(json.dumps(row, indent=2))


@jobs.command("logs")
@click.argument("job_id")
@click.option("--stderr", "which", flag_value="stderr", help="Show stderr instead of stdout.")
@click.option("--stdout", "which", flag_value="stdout", default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep printing while the job runs.")
def jobs_logs(job_id: str, which: str, follow: bool) -> None:
    """Print a job's output."""
    from backend.jobs.runner import JobHandle

    store = store_or_exit()
    row = _job_or_exit(store, job_id)
    handle = JobHandle(row["id"], Path(row["workdir"]))

    def show(stream: str, text: str) -> None:
        if stream == which:
            click.echo(text, nl=False)

    if follow and handle.is_running():
        handle.wait(on_output=show)
    else:
        handle.read_new_output(show)


@jobs.command("cancel")
@click.argument("job_id")
def jobs_cancel(job_id: str) -> None:
    """Stop a running job (SIGTERM to all its processes, SIGKILL after the grace); for a lost job, end
    whatever of it still runs."""
    from backend.jobs.status import cancel_workdir, end_lost_job

    store = store_or_exit()
    row = _job_or_exit(store, job_id)     # a vanished job is marked lost here, its leftovers ended
    workdir = Path(row["workdir"])
    if cancel_workdir(workdir):
        click.echo(f"cancelling {row['id']}")
        return
    if row["status"] == JobStatus.LOST:
        killed = end_lost_job(workdir)
        reason = row.get("reason") or "its supervisor is gone"
        click.echo(f"job {row['id']} is lost ({reason}); "
                   + (f"ended {killed} process(es) left of it" if killed else "nothing of it runs any more"))
        return
    fail(f"job {row['id']} is not running ({row['status']})", code=1)


@click.command()
@click.argument("logfile", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="JSON lines (the default is the same; kept for symmetry).")
def metrics(logfile: str, as_json: bool) -> None:
    """Extract metrics from a training log: one JSON line per value {"name", "value", "step"}."""
    from backend.jobs.metrics import iter_file_points

    try:
        # Opened apart from its `with` so a missing file is one clear line, not a traceback.
        fh = open(logfile, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115
    except OSError as exc:
        fail(f"cannot read {logfile}: {exc.strerror or exc}")
    with fh:
        out = sys.stdout
        for point in iter_file_points(fh):      # read by the column reader, a chunk at a time
            out.write(json.dumps(point.to_dict()) + "\n")


COMMANDS = [run, jobs, metrics]
