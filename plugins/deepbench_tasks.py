"""Registers the ten DeepBench tasks and the offline demo task. They are defined in
:mod:`backend.pipeline.deepbench`; this module only registers them."""

from __future__ import annotations

from backend.hookspecs import hookimpl


@hookimpl
def register_tasks(register):
    from backend.pipeline.deepbench import builtin_tasks

    for task in builtin_tasks():
        register(task)
