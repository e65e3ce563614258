"""`deepones bench` bad input (one line, exit 2, nothing written) and report exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(home: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_HOME": str(home), "DEEPONES_RAY_ADDRESS": ""}
    return subprocess.run([sys.executable, "-m", "deepones_gui", "bench", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _sweeps(home: Path) -> int:
    from backend.store import open_store

    db = open_store(home)
    try:
        return db.conn.execute("SELECT count(*) FROM bench_sweeps").fetchone()[0] + \
            db.conn.execute("SELECT count(*) FROM bench_results").fetchone()[0]
    finally:
        db.conn.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("extra, message", [
    (["--task", "no-such-task"], "no-such-task"),
    (["--designer", "replay:/nonexistent/d.jsonl"], "replay file /nonexistent/d.jsonl does not exist"),
    (["--variants", "base,turbo"], "unknown variant turbo"),
    (["--executor", "nowhere"], "unknown executor 'nowhere'"),
])
def test_bad_sweep_input(deepones_home, replay_models, extra, message):
    args = {"--task": "demo-digits", "--designer": replay_models["designer_a"], "--programmer": replay_models["programmer"]}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    out = _cli(deepones_home, "deepbench", *[x for kv in args.items() for x in kv], "--runs", "1")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr, out.stderr
    assert _sweeps(deepones_home) == 0


def test_unreachable_ray_address(deepones_home, replay_models):
    pytest.importorskip("ray.job_submission")
    address = f"http://127.0.0.1:{_free_port()}"
    out = _cli(deepones_home, "deepbench", "--task", "demo-digits", "--designer", replay_models["designer_a"],
               "--programmer", replay_models["programmer"], "--executor", "ray", "--ray-address", address)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Ray cluster at {address}" in lines[0], out.stderr
    assert _sweeps(deepones_home) == 0


def test_gpu_task_on_a_cluster_without_gpus(deepones_home, replay_models, ray_cluster):
    from backend.bench.ray_cluster import RaySettings

    RaySettings(address=ray_cluster, num_gpus=1).save(deepones_home)
    out = _cli(deepones_home, "deepbench", "--task", "image-classification", "--designer",
               replay_models["designer_a"], "--programmer", replay_models["programmer"], "--executor", "ray")
    assert out.returncode == 2
    assert "has no GPU for image-classification" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert _sweeps(deepones_home) == 0


def _rows() -> list[dict]:
    base = {"task": "demo-digits", "status": "succeeded", "success": 1, "session_id": 1, "error_types": [],
            "backbone": "MLP", "improvement": None}
    return [
        {**base, "designer": "replay:/x/a.jsonl", "variant": "base", "run_index": 0, "score": 0.8, "exec_s": 3.0},
        {**base, "designer": "replay:/x/a.jsonl", "variant": "base", "run_index": 1, "score": 0.6, "exec_s": 2.0},
        {**base, "designer": "replay:/x/a.jsonl", "variant": "plus", "run_index": 0, "score": 0.9, "exec_s": 4.0,
         "improvement": "dropout", "error_types": ["ValueError", "TypeError"]},
        {**base, "designer": "replay:/x/a.jsonl", "variant": "plus", "run_index": 1, "score": None, "success": 0,
         "status": "failed", "exec_s": None, "error_types": ["ValueError"]},
    ]


def test_report_formats_agree():
    from backend.bench.report import render

    md = render(_rows(), "2", "md").splitlines()
    assert md[0].startswith("| Task | Designer | Variant | Mean |")
    assert md[2] == "| demo-digits | a.jsonl | base | 0.7 | 0.8 | 0.6 | 3 | 2/2 (100%) |  |"
    assert md[3] == "| demo-digits | a.jsonl | + | 0.9 | 0.9 | 0.9 | 4 | 1/2 (50%) | +0.2 |"
    csv_text = render(_rows(), "2", "csv").splitlines()
    assert csv_text[2] == "demo-digits,a.jsonl,+,0.9,0.9,0.9,4,1/2 (50%),+0.2"
    tex = render(_rows(), "2", "latex")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "demo-digits & a.jsonl & + & 0.9 & 0.9 & 0.9 & 4 & 1/2 (50\\%) & +0.2 \\\\" in tex
    errors = render(_rows(), "errors", "csv").splitlines()
    assert errors[1:] == ["a.jsonl,+,ValueError,2,67%", "a.jsonl,+,TypeError,1,33%"]
    t3 = render(_rows(), "3", "md").splitlines()
    assert t3[2] == "| demo-digits | a.jsonl | MLP (4) | dropout (1) | MLP + dropout | 0.9 |"


def test_lower_is_better_direction():
    from backend.bench.aggregate import table2

    rows = [dict(r, task="recommendation") for r in _rows()]
    t2 = {r.variant: r for r in table2(rows)}
    assert (t2["base"].best, t2["base"].worst, t2["base"].best_exec_s) == (0.6, 0.8, 2.0)
    assert t2["plus"].gain == pytest.approx(-(0.9 - 0.7))   # RMSE went up: a loss


def test_report_and_list_from_the_cli(deepones_home, store):
    from backend.bench.records import SweepSpec, create_sweep, finish_run, results

    sweep_id = create_sweep(store, SweepSpec(tasks=["demo-digits"], designers=["replay:/x/a.jsonl"],
                                             programmer="replay:/x/p.jsonl", runs=2, variants=["base"]))
    for row, score in zip(results(store, sweep_id), (0.5, 0.7), strict=True):
        finish_run(store, row["id"], status="succeeded", score=score, success=1, exec_s=1.0, session_id=None)
    out = _cli(deepones_home, "report", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1] == "demo-digits,a.jsonl,base,0.6,0.7,0.5,1,2/2 (100%),"
    listing = _cli(deepones_home, "list", "--json")
    data = json.loads(listing.stdout)
    assert data["sweeps"][0]["counts"] == {"succeeded": 2}
    missing = _cli(deepones_home, "report", "99")
    assert missing.returncode == 2 and "no sweep 99" in missing.stderr


def test_a_silent_ray_address_fails_in_seconds_not_never(deepones_home, monkeypatch):
    """An address that accepts connections and never answers (a firewall, a hung head): Ray's SDK has
    no timeout of its own, so without one the sweep's check would hang. It fails with one line."""
    import socket
    import time

    pytest.importorskip("ray.job_submission")
    from backend.bench import ray_cluster

    monkeypatch.setattr(ray_cluster, "CONNECT_CHECK_S", 1.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        address = f"http://127.0.0.1:{server.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(ray_cluster.RayError, match=f"cannot reach the Ray cluster at {address}: timed out"):
            ray_cluster.cluster_resources(address)
        assert time.monotonic() - t0 < 10


def test_ray_settings_from_the_command_line(deepones_home, ray_cluster):
    from backend.bench.ray_cluster import RaySettings

    out = _cli(deepones_home, "ray", "--address", "head:8265")
    assert out.returncode == 2 and "http://HEAD:8265" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not RaySettings.path(deepones_home).exists()   # refused: nothing saved

    out = _cli(deepones_home, "ray", "--address", ray_cluster, "--cpus", "2", "--pip", "numpy", "--pip", "scipy",
               "--no-standby", "--test", "--json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout.strip().splitlines()[-1])
    assert shown["resources"]["CPU"] == 2.0 and shown["resources"]["GPU"] == 0.0
    saved = RaySettings.load(deepones_home)
    assert (saved.address, saved.num_cpus, saved.pip, saved.standby) == (ray_cluster, 2.0, ["numpy", "scipy"], False)

    out = _cli(deepones_home, "ray", "--pip", "", "--standby")
    assert out.returncode == 0 and "pip: None" in out.stdout and "standby: True" in out.stdout, out.stderr
    assert RaySettings.load(deepones_home).pip is None
