"""The DeepBench pipeline, Qt-free: tasks, prompts, one function per stage, sandboxed runs, recording.

propose -> improve -> implement -> validate -> debug loop -> hyperparameters -> final run.
"""

from backend.pipeline.runner import STAGE_ORDER, DesignRunner, PipelineFinished
from backend.pipeline.state import SessionSettings, SessionState, Step
from backend.pipeline.store import SessionNotFound, SessionStore
from backend.pipeline.tasks import Task, TaskError, all_tasks, custom_task, get_task

__all__ = [
    "STAGE_ORDER",
    "DesignRunner",
    "PipelineFinished",
    "SessionNotFound",
    "SessionSettings",
    "SessionState",
    "SessionStore",
    "Step",
    "Task",
    "TaskError",
    "all_tasks",
    "custom_task",
    "get_task",
]
