"""Jobs: every program run (generated code, training, benchmarks) as a sandboxed child process.

``run_job(spec)`` blocks until the job ends; ``start_job(spec)`` returns a :class:`JobHandle` at once.
"""

from backend.jobs.runner import JobError, JobHandle, run_job, start_job
from backend.jobs.spec import JobLimits, JobResult, JobSpec

__all__ = ["JobError", "JobHandle", "JobLimits", "JobResult", "JobSpec", "run_job", "start_job"]
