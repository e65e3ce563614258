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
    gpu_memory: str = "one GPU with 48 GB of memory"
    train_time: str = "training must stop after 3,600 seconds, then evaluate"
    inference_time: str = "less than 1 second per example"

    def as_lines(self) -> str:
        return (
            f"- gpu memory: {self.gpu_memory}\n"
            f"- train time: {self.train_time}\n"
            f"- inference time: {self.inference_time}"
        )


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
        known = set(cls.__dataclass_fields__)
        return cls(requirements=Requirements(**req), **{k: v for k, v in data.items() if k in known})


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
) -> Task:
    """A user's own task from free text; raises :class:`TaskError` naming what is missing."""
    task, dataset, metric = task.strip(), dataset.strip(), metric.strip()
    missing = [label for label, value in (("task", task), ("dataset", dataset), ("metric", metric)) if not value]
    if missing:
        raise TaskError(f"A custom task needs a {', '.join(missing)}.")
    if direction not in DIRECTIONS:
        raise TaskError(f"The metric direction must be 'higher' or 'lower', not {direction!r}.")
    defaults = Requirements()
    return Task(
        name=name.strip() or f"custom-{slugify(task)[:40]}",
        title=task[:80],
        task=task.rstrip("."),
        modality=modality,
        dataset=dataset,
        dataset_details=dataset_details or f"The dataset is {dataset}.",
        metric=metric,
        direction=direction,
        requirements=Requirements(
            gpu_memory=gpu_memory.strip() or defaults.gpu_memory,
            train_time=train_time.strip() or defaults.train_time,
            inference_time=inference_time.strip() or defaults.inference_time,
        ),
        custom=True,
    )
