"""Jobs: every program run (generated code, training, benchmarks) as a sandboxed child process."""

from backend.jobs.spec import JobLimits, JobResult, JobSpec

__all__ = ["JobLimits", "JobResult", "JobSpec"]
