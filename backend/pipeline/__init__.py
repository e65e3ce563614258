"""The DeepBench pipeline, Qt-free: tasks, prompts, one function per stage, sandboxed runs, recording.

propose -> improve -> implement -> validate -> debug loop -> hyperparameters -> final run.
"""

from backend.lazy import lazy_exports

# Names resolve lazily (PEP 562): task plugins import ``backend.pipeline.tasks`` at GUI start-up,
# and that must not drag in the runner, the store and sqlite-utils.
_EXPORTS = {
    "STAGE_ORDER": "state",
    "RAIL_STAGES": "state",
    "DesignRunner": "runner",
    "PipelineFinished": "runner",
    "SessionSettings": "state",
    "SessionState": "state",
    "Step": "state",
    "SessionNotFound": "store",
    "SessionStore": "store",
    "Task": "tasks",
    "TaskError": "tasks",
    "all_tasks": "catalog",
    "custom_task": "tasks",
    "get_task": "catalog",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
