"""Jobs: every program run (generated code, training, benchmarks) as a sandboxed child process.

``run_job(spec)`` blocks until the job ends; ``start_job(spec)`` returns a :class:`JobHandle` at once.
"""

from backend.lazy import lazy_exports

# Resolved lazily (PEP 562): importing one light module of the package (the parsers, the status
# helpers) must not drag in the runner and its process machinery.
_EXPORTS = {
    "JobError": "runner",
    "JobHandle": "runner",
    "run_job": "runner",
    "start_job": "runner",
    "JobLimits": "spec",
    "JobResult": "spec",
    "JobSpec": "spec",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
