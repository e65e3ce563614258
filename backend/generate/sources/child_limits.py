"""Resource limits a parser child puts on itself first thing (imported by the child scripts only).

Kept free of any ``backend`` import: the children run isolated (``python -I script``), with only
this folder added to their path.
"""

from __future__ import annotations


def apply_limits(memory_mb: int, cpu_s: int) -> None:
    """Cap this process's address space and CPU time (no-op where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows: the parent's wall-clock timeout still applies
        return
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 1024 * 1024), (resource.RLIMIT_CPU, cpu_s)):
        try:
            _soft, hard = resource.getrlimit(limit)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (cap, hard))
        except (ValueError, OSError):
            pass
