"""The Ray executor: program runs as Ray jobs on a cluster. The implementation is
:class:`backend.bench.ray_executor.RayExecutor`; this module only registers it (Ray itself is
imported only when a job is submitted: ``pip install 'deepones-studio[ray]'``)."""

from __future__ import annotations

from backend.hookspecs import hookimpl


@hookimpl
def register_executors(register):
    from backend.bench.ray_executor import RayExecutor

    register("ray", RayExecutor)
