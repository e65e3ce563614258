"""GPU parts against a real NVIDIA GPU (skipped on machines without one): NVML readings, per-job
recording by the supervisor, CUDA_VISIBLE_DEVICES, and the GPU panel's rows."""

from __future__ import annotations

import json

import pytest

from backend import gpu
from backend.jobs import run_job
from tests.jobs.conftest import program

pytestmark = pytest.mark.skipif(not gpu.sample_gpus(), reason="no NVIDIA GPU on this machine")


def test_job_on_a_gpu_records_nvml_readings(jobs_root):
    result = run_job(program("""
        import os, time
        print("CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", "?"), flush=True)
        time.sleep(4.5)
    """, gpu="0"), root=jobs_root)
    assert result.status == "succeeded"
    assert "CUDA_VISIBLE_DEVICES=0" in result.stdout_path.read_text()
    rows = [json.loads(line) for line in (result.workdir / "gpu.jsonl").read_text().splitlines()]
    assert len({r["t"] for r in rows}) >= 2  # a reading every ~2 s
    assert all(r["mem_total_mb"] > 1000 for r in rows)
    from backend.jobs.records import job_gpu_summary

    assert "peak utilisation" in job_gpu_summary(result.workdir)


def test_gpu_panel_shows_one_row_per_gpu(qtbot):
    from deepones_gui.workspaces.jobs.gpu_panel import GpuPanel

    panel = GpuPanel()
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.available is not None, timeout=10000)
    assert panel.available and len(panel.rows) == len(gpu.sample_gpus())
    name, util, mem, temp, power = panel.rows[0]
    assert gpu.sample_gpus()[0].name in name.text()     # the board the sampler reports, by name
    assert "GB" in mem.format()
    panel.shutdown()
