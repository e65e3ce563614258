"""What a model check is asked (:class:`CheckRequest`) and what it reports (:class:`CheckResult`).

Plain data, JSON round-trippable: the CLI prints it, the stage view and the proposal board show it,
a design session can store it. The verdict itself is :mod:`backend.ideation.verdict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GREEN, AMBER, RED = "green", "amber", "red"
VERDICTS = (GREEN, AMBER, RED)
DEFAULT_TIMEOUT_S = 300.0
CPU_PROBE_BATCH = 16     # on the CPU at most this many examples are run; the rest is scaled linearly


@dataclass(frozen=True)
class CheckLimits:
    """The numbers a design is judged against (from the task's requirements, or given by hand)."""

    memory_gb: float | None = None           # a training step at the batch size
    train_time_s: float | None = None        # the training budget; one epoch must fit
    inference_s_per_example: float | None = None
    gpu_task: bool = True                    # timings taken on a CPU only warn for a GPU task

    @classmethod
    def from_task(cls, task: Any) -> CheckLimits:
        req = task.requirements
        return cls(memory_gb=req.gpu_memory_gb, train_time_s=req.train_time_s,
                   inference_s_per_example=req.inference_time_s,
                   gpu_task=not req.gpu_memory.lower().startswith("no gpu"))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CheckRequest:
    """One check: which program, on which input, judged against which limits."""

    input_shape: tuple[int, ...]
    batch_size: int
    dtype: str = "float32"                   # "int64": token ids below vocab_size
    vocab_size: int | None = None
    train_examples: int | None = None        # examples per epoch, for the epoch-time estimate
    limits: CheckLimits = field(default_factory=CheckLimits)
    device: str = "auto"                     # auto | cpu | cuda
    timeout_s: float = DEFAULT_TIMEOUT_S
    diagram: bool = True
    cpu_probe_batch: int = CPU_PROBE_BATCH
    task_name: str = ""

    @classmethod
    def for_task(cls, task: Any, **overrides: Any) -> CheckRequest:
        """The request a task implies (its input spec and requirements); ``overrides`` win.
        Raises ``ValueError`` when the task has no input spec and no ``input_shape`` is given."""
        spec = task.input_spec
        if spec is None and "input_shape" not in overrides:
            raise ValueError(f"The task {task.name!r} has no input shape: give one (e.g. --input-shape 3,32,32).")
        values: dict[str, Any] = {"limits": CheckLimits.from_task(task), "task_name": task.name}
        if spec is not None:
            values.update(input_shape=spec.shape, batch_size=spec.batch_size, dtype=spec.dtype,
                          vocab_size=spec.vocab_size, train_examples=spec.train_examples)
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("batch_size", 32)
        return cls(**values)

    def probe_config(self, program: str) -> dict:
        """What the in-job probe reads (``check_request.json``)."""
        return {"program": program, "input_shape": list(self.input_shape), "batch_size": self.batch_size,
                "dtype": self.dtype, "vocab_size": self.vocab_size, "train_examples": self.train_examples,
                "device": self.device, "diagram": self.diagram, "cpu_probe_batch": self.cpu_probe_batch}

    def to_dict(self) -> dict:
        return {**asdict(self), "input_shape": list(self.input_shape)}


@dataclass
class CheckResult:
    """A check's outcome. ``status``: ok | error (the model could not be built or run; ``traceback``
    says why) | no_model | oom | timeout | cancelled | failed (the check itself could not run)."""

    status: str
    verdict: str = RED
    reasons: list[str] = field(default_factory=list)
    model: str = ""
    found_by: str = ""
    params: int | None = None
    trainable_params: int | None = None
    flops_per_sample: int | None = None
    peak_memory_bytes: int | None = None
    memory_method: str = ""
    forward_ms: float | None = None          # one forward pass of a whole batch (eval, no grad)
    step_ms: float | None = None             # one training step of a whole batch
    epoch_s: float | None = None
    batch_size: int | None = None
    measured_batch: int | None = None
    device: str = ""
    device_name: str = ""
    input_shape: list[int] = field(default_factory=list)
    error: str = ""
    traceback: str = ""
    notes: list[str] = field(default_factory=list)
    diagram: dict | None = None
    limits: dict = field(default_factory=dict)
    job_id: str | None = None
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self, *, with_diagram: bool = True) -> dict:
        data = asdict(self)
        if not with_diagram:
            data.pop("diagram")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        """One line for a card or a log: the numbers, or what went wrong."""
        if not self.ok:
            return f"{self.verdict}: {self.reasons[0] if self.reasons else self.error or self.status}"
        from backend.ideation.formatting import human_count
        from backend.units import format_bytes

        return (f"{self.verdict}: {self.model}, {human_count(self.params)} params, "
                f"{human_count(self.flops_per_sample)}FLOPs/example, ~{format_bytes(self.peak_memory_bytes)} "
                f"at batch {self.batch_size}, forward {self.forward_ms:.1f} ms/batch")
