"""Every task the designer can be given: the built-in ones and those plugins register."""

from __future__ import annotations

from backend import plugins
from backend.pipeline.tasks import Task, TaskError


def all_tasks() -> dict[str, Task]:
    """Every task by name from ``register_tasks`` (plugins.deepbench_tasks registers the built-in ones)."""
    return plugins.collect_named("register_tasks")


def get_task(name: str) -> Task:
    tasks = all_tasks()
    if name not in tasks:
        known = ", ".join(sorted(tasks)) or "none"
        raise TaskError(f"No task named {name!r}. Known tasks: {known}.")
    return tasks[name]
