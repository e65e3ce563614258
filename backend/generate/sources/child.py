"""Run a parser in a child process, so a hostile file costs a one-line error, never the caller.

PDF parsing (pypdf) and C/C++ parsing (tree-sitter) are the readers that could hang, eat memory
or crash on a crafted file. Each runs as a small script in a fresh interpreter with a CPU and
address-space limit and a wall-clock timeout; it prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from backend.children import python_argv
from backend.generate.sources.errors import SourceError

#: Address-space cap of a parser child. A real paper stays far below it; pypdf caps each stream's
#: output itself, and this catches what it does not foresee: the child fails with MemoryError
#: instead of the machine swapping.
DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 60.0


def run_parser_child(
    script: Path,
    args: list[str],
    *,
    what: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    stdin: str | None = None,
) -> dict[str, Any]:
    """Run ``script args...`` in a child and return the JSON object it printed.

    Raises :class:`SourceError` with one line naming ``what`` when the child times out, is
    killed (memory, CPU, a crash in native code), exits non-zero or prints no JSON.
    """
    # Each child script starts with child_limits.apply_limits(memory_mb, cpu_s) from these argv.
    argv = python_argv("-I", str(script), str(memory_mb), str(max(1, int(timeout_s))), *args)
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"{what}: the parser took longer than {timeout_s:g} s and was stopped") from None
    except OSError as exc:
        raise SourceError(f"{what}: cannot start the parser process ({exc})") from exc
    if proc.returncode < 0:
        raise SourceError(
            f"{what}: the parser was killed (signal {-proc.returncode}); the file may be "
            "malformed or too large"
        )
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SourceError(f"{what}: the parser failed ({tail[:200]})")
    if result.get("error"):
        raise SourceError(f"{what}: {result['error']}")
    return result
