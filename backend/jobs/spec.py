"""The job contract shared by the executor (Jobs issue) and its callers (Design, Bench, CLI).

A job dir ``<data dir>/jobs/<id>/`` holds: the program files, ``stdout.log``, ``stderr.log``,
``status.json`` and whatever the program writes (``metric.log`` carries the DeepBench score).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_TIME_LIMIT_S = 4200.0
DEFAULT_TRAIN_TIME_LIMIT_S = 3600.0
STATUSES = ("queued", "running", "succeeded", "failed", "timeout", "memory", "cancelled", "lost")
FINAL_STATUSES = STATUSES[2:]      # the one list of statuses a job never leaves


@dataclass
class JobLimits:
    time_limit_s: float = DEFAULT_TIME_LIMIT_S             # wall clock for the whole job
    train_time_limit_s: float = DEFAULT_TRAIN_TIME_LIMIT_S  # passed as DEEPONES_TRAIN_TIME_LIMIT
    memory_limit_mb: float | None = None                   # resident memory of the whole process tree
    max_processes: int | None = 512
    max_file_size_mb: float | None = 4096
    max_log_mb: float = 32                                  # captured output keeps head + tail
    kill_grace_s: float = 5.0                               # SIGTERM -> SIGKILL grace on a limit or Cancel


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
