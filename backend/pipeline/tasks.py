"""DeepBench-style tasks: what the designer is asked to solve (task text T plus requirements).

Tasks are plugins (``register_tasks``); the first-party ten DeepBench tasks and the offline demo
task are built in (:mod:`backend.pipeline.deepbench`, registered by ``plugins/deepbench_tasks.py``);
:mod:`backend.pipeline.catalog` lists them all. A user's own task is built with :func:`custom_task`
and travels inside the design session (``task_spec``), so reopening it never needs the plugin.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from backend.errors import UserError

DIRECTIONS = ("higher", "lower")


class TaskError(UserError, ValueError):
    """A task cannot be found or built; ``str(exc)`` is fit to show the user."""


@dataclass(frozen=True)
class Requirements:
    """The paper's DLPD requirements: as text for the designer, as numbers for the model check."""

    gpu_memory: str = "one GPU with 48 GB of memory"
    train_time: str = "training must stop after 3,600 seconds, then evaluate"
    inference_time: str = "less than 1 second per example"
    gpu_memory_gb: float | None = 48.0      # memory a training step may take (GPU, or CPU RAM for CPU tasks)
    train_time_s: float | None = 3600.0     # training budget; an epoch estimate is compared against it
    inference_time_s: float | None = 1.0    # forward time per example

    @classmethod
    def from_text(cls, gpu_memory: str = "", train_time: str = "", inference_time: str = "") -> Requirements:
        """Requirements from free text, with the numbers read out of it (defaults where it says none)."""
        defaults = cls()
        gpu_memory = gpu_memory.strip() or defaults.gpu_memory
        train_time = train_time.strip() or defaults.train_time
        inference_time = inference_time.strip() or defaults.inference_time
        return cls(gpu_memory=gpu_memory, train_time=train_time, inference_time=inference_time,
                   gpu_memory_gb=parse_gigabytes(gpu_memory), train_time_s=parse_seconds(train_time),
                   inference_time_s=parse_seconds(inference_time))

    def as_lines(self) -> str:
        return (
            f"- gpu memory: {self.gpu_memory}\n"
            f"- train time: {self.train_time}\n"
            f"- inference time: {self.inference_time}"
        )


_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
# Decimal units, as every size in the app (backend.units): GB = 10^9 bytes.
_SIZE_UNITS = {"tb": 1000.0, "gb": 1.0, "gib": 1.073741824, "mb": 1e-3, "mib": 1.048576e-3}
_TIME_UNITS = {"ms": 1e-3, "millisecond": 1e-3, "s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0,
               "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "day": 86400.0}


def parse_gigabytes(text: str) -> float | None:
    """"one GPU with 48 GB of memory" -> 48.0; "~500 MB" -> 0.5; None when no size is given."""
    m = re.search(_NUMBER + r"\s*(tb|gib|gb|mib|mb)\b", text.lower())
    return float(m.group(1).replace(",", "")) * _SIZE_UNITS[m.group(2)] if m else None


def parse_seconds(text: str) -> float | None:
    """"after 3,600 seconds" -> 3600.0; "~10 hours" -> 36000.0; "<10 ms per example" -> 0.01."""
    m = re.search(_NUMBER + r"\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|min|hours?|hrs?|h|days?)\b", text.lower())
    if not m:
        return None
    unit = m.group(2).rstrip("s") if m.group(2) not in ("s", "ms") else m.group(2)
    return float(m.group(1).replace(",", "")) * _TIME_UNITS[unit]


@dataclass(frozen=True)
class InputSpec:
    """What one example fed to the model looks like, for checking a design without its data.

    ``shape`` excludes the batch dimension. ``dtype`` "float32" means real-valued features (images,
    audio, tabular); "int64" means token ids below ``vocab_size``.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    num_classes: int | None = None
    batch_size: int = 32          # the batch a training step uses by default
    vocab_size: int | None = None
    train_examples: int | None = None   # examples per training epoch (for the epoch-time estimate)

    def to_dict(self) -> dict:
        return {**asdict(self), "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: dict) -> InputSpec:
        known = set(cls.__dataclass_fields__)
        data = {k: v for k, v in data.items() if k in known}
        return cls(**{**data, "shape": tuple(int(n) for n in data.get("shape", ()))})


@dataclass(frozen=True)
class Task:
    name: str                       # unique id, e.g. "image-classification"
    title: str                      # e.g. "Image classification on CIFAR-10"
    task: str                       # the simple task sentence, e.g. "image classification task on CIFAR-10 dataset"
    modality: str
    dataset: str                    # dataset name, e.g. "CIFAR-10"
    dataset_details: str            # local path layout and Hugging Face id, described in detail
    metric: str                     # e.g. "accuracy"
    direction: str = "higher"       # higher | lower is better
    requirements: Requirements = field(default_factory=Requirements)
    hf_id: str = ""
    local_path: str = ""
    train_size: int | None = None   # 10,000 for the paper's "mini" sets
    valid_size: int | None = None   # 1,000 for the paper's "mini" sets
    offline: bool = False           # runs with no network (the demo task)
    custom: bool = False
    input_spec: InputSpec | None = None   # None: the check needs an input shape given by hand

    def description(self) -> str:
        """The task description T given to the designer and the programmer."""
        sizes = ""
        if self.train_size:
            sizes = (
                f"\nUse a subset of {self.train_size:,} training examples and {self.valid_size:,} "
                "validation examples (the first ones in the split order)."
            )
        return (
            f"Task: {self.task}.\n"
            f"Dataset: {self.dataset}.{sizes}\n{self.dataset_details.strip()}\n"
            f"Metric: The performance must be evaluated using {self.metric} "
            f"({self.direction} is better) on the validation set."
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Task:
        data = dict(data)
        req = data.pop("requirements", None) or {}
        spec = data.pop("input_spec", None)
        known = set(cls.__dataclass_fields__)
        texts = {k: v for k, v in req.items() if k in ("gpu_memory", "train_time", "inference_time")}
        # Sessions stored before the numbers existed: read them from the text they were stated in.
        numbers = {k: v for k, v in req.items() if k in ("gpu_memory_gb", "train_time_s", "inference_time_s")}
        requirements = Requirements.from_text(**texts) if texts and not numbers else Requirements(**texts, **numbers)
        return cls(requirements=requirements, input_spec=InputSpec.from_dict(spec) if spec else None,
                   **{k: v for k, v in data.items() if k in known})


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "task"


def custom_task(
    task: str,
    dataset: str,
    metric: str,
    direction: str = "higher",
    *,
    dataset_details: str = "",
    gpu_memory: str = "",
    train_time: str = "",
    inference_time: str = "",
    name: str = "",
    modality: str = "",
    input_spec: InputSpec | None = None,
) -> Task:
    """A user's own task from free text; raises :class:`TaskError` naming what is missing."""
    task, dataset, metric = task.strip(), dataset.strip(), metric.strip()
    missing = [label for label, value in (("task", task), ("dataset", dataset), ("metric", metric)) if not value]
    if missing:
        raise TaskError(f"A custom task needs a {', '.join(missing)}.")
    if direction not in DIRECTIONS:
        raise TaskError(f"The metric direction must be 'higher' or 'lower', not {direction!r}.")
    return Task(
        name=name.strip() or f"custom-{slugify(task)[:40]}",
        title=task[:80],
        task=task.rstrip("."),
        modality=modality,
        dataset=dataset,
        dataset_details=dataset_details or f"The dataset is {dataset}.",
        metric=metric,
        direction=direction,
        requirements=Requirements.from_text(gpu_memory, train_time, inference_time),
        custom=True,
        input_spec=input_spec,
    )
