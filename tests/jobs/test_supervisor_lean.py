"""The supervisor starts on every job's launch path: under ``-I -S`` it must import only what it needs."""

from __future__ import annotations

import subprocess
import sys

from backend.jobs.runner import SUPERVISOR

# Each of these costs milliseconds of every launch, and the supervisor needs none of them.
HEAVY = ("typing", "re", "enum", "collections", "functools", "json", "dataclasses")


def test_lean_supervisor_imports_no_heavy_stdlib_modules():
    code = (f"import sys; sys.path.insert(0, {str(SUPERVISOR.parent)!r}); import supervisor; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [], f"the lean supervisor imported {out.stdout.strip()}"
