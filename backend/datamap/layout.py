"""Drives the layout child (:mod:`backend.datamap.layout_child`): start it, relay progress, honour Cancel."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.datamap.vectors import MapError, Progress

CHILD_MODULE = "backend.datamap.layout_child"
ENGINES = ("umap", "pca")


class LayoutCancelled(Exception):
    """Cancel was asked for while the child ran (it has been stopped)."""


def run_child(
    mode: str,
    vectors: np.ndarray,
    params: dict,
    *,
    keep_model: Path | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Run ``layout_child MODE`` on ``vectors``; returns xy (n x 2). With ``keep_model`` (fit) the
    fitted model is moved there."""
    from backend.children import python_argv

    work = Path(tempfile.mkdtemp(prefix="deepones-map-"))
    try:
        np.save(work / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        (work / "params.json").write_text(json.dumps(params))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # stderr to a file: numba/UMAP warnings must never fill a pipe and stall the child.
        with open(work / "stderr.txt", "wb") as err_file:
            proc = subprocess.Popen(
                python_argv("-m", CHILD_MODULE, mode, str(work)),
                stdout=subprocess.PIPE,
                stderr=err_file,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        try:
            _follow(proc, progress, cancel)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
        err = (work / "stderr.txt").read_text("utf-8", "replace")
        if proc.returncode != 0:
            lines = [ln for ln in err.strip().splitlines() if ln.strip()]
            why = lines[-1] if lines else f"exit status {proc.returncode}"
            raise MapError(f"the layout process failed: {why[:300]}")
        xy = np.load(work / "xy.npy")
        if keep_model is not None:
            keep_model.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(work / "model.pkl"), keep_model)
        return xy
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _follow(proc: subprocess.Popen, progress: Progress | None, cancel: Callable[[], bool] | None) -> None:
    buf = b""
    fd = proc.stdout.fileno()
    while True:
        if cancel is not None and cancel():
            proc.kill()
            raise LayoutCancelled()
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                return
            continue
        data = os.read(fd, 65536)
        if not data:
            return
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            parts = line.decode("utf-8", "replace").split(" ", 2)
            if len(parts) == 3 and parts[0] == "progress" and progress is not None:
                try:
                    progress(float(parts[1]), parts[2])
                except ValueError:
                    pass
