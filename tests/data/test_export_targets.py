"""Exports write only regular files (issue 22, item 5): a device or FIFO target is refused and left as it
was; a killed export's ``*.partial`` file is gone at the next start."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.datasets.exporter import export
from backend.datasets.importer import import_paths
from backend.outfiles import NotARegularFile
from tests.data.conftest import record

ROOT = Path(__file__).resolve().parents[2]


def deepones(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "DEEPONES_HOME": str(home)}, timeout=120)


def test_export_to_a_fifo_is_refused_and_the_fifo_left_alone(store, write_jsonl, tmp_path, deepones_home):
    import_paths(store, [write_jsonl("d.jsonl", [record(i) for i in range(3)])])
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="named pipe"):
        export(store, fifo, "alpaca")
    out = deepones("data", "export", str(fifo), "--format", "alpaca", home=deepones_home)
    assert out.returncode != 0 and "named pipe" in out.stderr and "Traceback" not in out.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


@pytest.mark.skipif(not hasattr(os, "mknod") or os.geteuid() != 0, reason="making a device node needs root")
def test_export_to_a_device_says_it_is_a_device(store, write_jsonl, tmp_path, deepones_home):
    import_paths(store, [write_jsonl("d.jsonl", [record(1)])])
    device = tmp_path / "full"
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 7))   # a stand-in for /dev/full, made here
    out = deepones("data", "export", str(device), "--format", "alpaca", home=deepones_home)
    assert out.returncode != 0 and "is a device" in out.stderr and "Traceback" not in out.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_killed_export_leaves_no_partial_at_the_next_start(write_jsonl, tmp_path, deepones_home):
    src = write_jsonl("d.jsonl", [record(i) for i in range(1500)])
    assert deepones("data", "import", str(src), home=deepones_home).returncode == 0
    target = tmp_path / "out" / "train.jsonl"
    # A real export, SIGKILLed mid-write (at its first cancel check, after 1,000 rows).
    script = textwrap.dedent(f"""
        import os, signal
        from backend.store import open_store
        from backend.datasets.exporter import export
        export(open_store(), {str(target)!r}, "alpaca", cancel=lambda: os.kill(os.getpid(), signal.SIGKILL))
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120,
                            env={**os.environ, "DEEPONES_HOME": str(deepones_home)})
    assert killed.returncode == -9, killed.stderr
    partials = [p for p in target.parent.iterdir() if p.name.endswith(".partial")]
    assert len(partials) == 1 and partials[0].stat().st_size > 0 and not target.exists()
    assert deepones("data", "stats", home=deepones_home).returncode == 0   # the next start
    assert list(target.parent.iterdir()) == []
