"""The local executor: jobs as sandboxed child processes on this machine (see :mod:`backend.jobs`)."""

from __future__ import annotations

from backend.hookspecs import hookimpl


class LocalExecutor:
    """Runs jobs here. ``submit`` returns at once with a handle; ``run`` blocks until the job ends."""

    name = "local"

    def __init__(self, root=None, db=None) -> None:
        self.root, self.db = root, db

    def submit(self, spec):
        from backend.jobs import start_job

        return start_job(spec, root=self.root, db=self.db)

    def run(self, spec, *, on_output=None, cancel=None):
        from backend.jobs import run_job

        return run_job(spec, root=self.root, db=self.db, on_output=on_output, cancel=cancel)


def _factory(root=None, db=None) -> LocalExecutor:
    return LocalExecutor(root=root, db=db)


@hookimpl
def register_executors(register):
    register("local", _factory)
