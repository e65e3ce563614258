"""Every task the designer can be given: the built-in ones and those plugins register."""

from __future__ import annotations

from backend import plugins
from backend.pipeline.deepbench import builtin_tasks
from backend.pipeline.tasks import Task, TaskError


def all_tasks() -> dict[str, Task]:
    """Every task by name: the built-in ones, then plugins' ``register_tasks`` (which may override)."""
    return {**{t.name: t for t in builtin_tasks()}, **plugins.collect_named("register_tasks")}


def get_task(name: str) -> Task:
    tasks = all_tasks()
    if name not in tasks:
        known = ", ".join(sorted(tasks)) or "none"
        raise TaskError(f"No task named {name!r}. Known tasks: {known}.")
    return tasks[name]
