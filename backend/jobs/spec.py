"""The job contract shared by the executor (Jobs issue) and its callers (Design, Bench, CLI).

A job dir ``<data dir>/jobs/<id>/`` holds: the program files, ``stdout.log``, ``stderr.log``,
``status.json`` and whatever the program writes (``metric.log`` carries the DeepBench score).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

DEFAULT_TIME_LIMIT_S = 4200.0
DEFAULT_TRAIN_TIME_LIMIT_S = 3600.0


class JobStatus(StrEnum):
    """A job's (and a training run's) status. The values are what ``status.json`` and the store
    hold: the stdlib-only supervisor writes the same strings without importing this."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CANCELLED = "cancelled"
    LOST = "lost"


STATUSES = tuple(JobStatus)
FINAL_STATUSES = STATUSES[2:]      # the one list of statuses a job never leaves


@dataclass
class JobLimits:
    time_limit_s: float = DEFAULT_TIME_LIMIT_S             # wall clock for the whole job
    train_time_limit_s: float = DEFAULT_TRAIN_TIME_LIMIT_S  # passed as DEEPONES_TRAIN_TIME_LIMIT
    memory_limit_mb: float | None = None                   # resident memory of the whole process tree
    max_processes: int | None = 512
    max_file_size_mb: float | None = 4096
    max_job_dir_mb: float | None = 200 * 1024               # the whole job folder (checkpoints...), checked every few s
    max_log_mb: float = 32                                  # captured output keeps head + tail
    kill_grace_s: float = 5.0                               # SIGTERM -> SIGKILL grace on a limit or Cancel


def limits_problem(limits: JobLimits) -> str | None:
    """Why ``limits`` cannot be used (a message for the user), or None. A zero, negative or nan time
    limit would mean "stop at once" or "never": both are mistakes, not requests."""
    import math

    for label, value in (("time limit", limits.time_limit_s), ("training time limit", limits.train_time_limit_s)):
        try:
            ok = value is not None and math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return f"the {label} must be a positive number of seconds (got {value!r})"
    for label, value in (("memory limit", limits.memory_limit_mb), ("file size limit", limits.max_file_size_mb),
                         ("job folder size limit", limits.max_job_dir_mb)):
        if value is not None and not (math.isfinite(float(value)) and float(value) > 0):
            return f"the {label} must be a positive size (got {value!r})"
    return None


@dataclass
class JobSpec:
    argv: list[str]                                 # program file (relative to the job dir) + args, or a command
    interpreter: str | None = None                  # None: the execution environment from settings
    name: str = ""
    files: dict[str, str] = field(default_factory=dict)   # written into the job dir before start
    env: dict[str, str] = field(default_factory=dict)
    allow_env: list[str] = field(default_factory=list)    # secret-looking names the user allowed
    limits: JobLimits = field(default_factory=JobLimits)
    no_network: bool = False
    gpu: str | None = None                          # CUDA_VISIBLE_DEVICES value, None = no GPU request
    origin: str = ""                                # e.g. "cli", "design:<step id>"
    confine: bool = True                            # Landlock + namespaces where the kernel has them
    extra_write: list[str] = field(default_factory=list)  # folders the program may write besides its own

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class JobResult:
    job_id: str
    status: str                     # succeeded | failed | timeout | memory | cancelled | lost
    exit_code: int | None
    signal: int | None
    score: float | None             # the number in metric.log, if any
    wall_s: float
    peak_rss_mb: float
    workdir: Path
    reason: str = ""

    @property
    def stdout_path(self) -> Path:
        return self.workdir / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "stderr.log"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["workdir"] = str(self.workdir)
        return d


class ProgramUnreadable(ValueError):
    """The program file cannot be read; ``str(exc)`` is for the user."""


def program_spec(path: Path | str, *, args: list[str] | tuple = (), interpreter: str | None = None,
                 name: str = "", origin: str = "") -> JobSpec:
    """A job that runs the Python file ``path`` (copied into the job folder) with ``args``."""
    src = Path(path)
    try:
        text = src.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramUnreadable(f"cannot read {src}: {exc}") from exc
    return JobSpec(argv=[src.name, *args], interpreter=interpreter, name=name or src.name,
                   files={src.name: text}, origin=origin)
