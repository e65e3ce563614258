"""Model check benchmark: the check of the ResNet-18 on the CPU vs a bare script doing the same work.

    python tests/benchmarks/bench_check.py [--rounds N] [--batch N] [--target X]

The check (``backend.ideation.check.check_file``: a sandboxed job through the job launcher, the probe
finding the model, counting, tracing the diagram, timing) is timed from the call to the result. The
baseline is a fresh Python process running a bare script that does the same torch work in one
process: import torch, build the same model, count parameters, one FLOP-counted forward at the probe
batch, two training steps (Adam) and two timed forwards at the full batch. Both include starting
Python and importing torch; the check also includes the launcher (supervisor, confinement), finding
the model and the diagram. Runs are interleaved so machine load hits both alike; the medians are
compared with ``uptime``'s load averages. Target: check <= 1.5 x bare. Exits 1 on a miss. It runs in a
temporary data folder (``DEEPONES_HOME``), removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PROGRAM = ROOT / "tests" / "ideation" / "programs" / "resnet18.py"

BARE = r"""
import importlib.util, sys, time
import torch
from torch.utils.flop_counter import FlopCounterMode
spec = importlib.util.spec_from_file_location("resnet18", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
batch, probe = int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
model = mod.build_model()
params = sum(p.numel() for p in model.parameters())
model.eval()
counter = FlopCounterMode(display=False)
with torch.no_grad(), counter:
    model(torch.randn(probe, 3, 32, 32))
flops = counter.get_total_flops() / probe
x = torch.randn(batch, 3, 32, 32)
model.train()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for _ in range(2):
    loss = model(x).float().mean(); loss.backward(); opt.step(); opt.zero_grad(set_to_none=False)
model.eval()
with torch.no_grad():
    for _ in range(2):
        t0 = time.perf_counter(); model(x); fwd = time.perf_counter() - t0
print(params, int(flops), fwd)
"""


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load", 1)[-1]


def run_bare(batch: int, probe: int) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BARE, str(PROGRAM), str(batch), str(probe)],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    params, flops, _ = done.stdout.split()
    return wall, int(params), int(flops)


def run_check(batch: int) -> tuple[float, object]:
    from backend.ideation.check import check_file
    from backend.ideation.result import CheckRequest
    from backend.pipeline import get_task

    request = CheckRequest.for_task(get_task("image-classification"), batch_size=batch, device="cpu")
    t0 = time.perf_counter()
    result = check_file(PROGRAM, request)
    return time.perf_counter() - t0, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128, help="The task's batch (128 for CIFAR-10).")
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="deepones-bench-check-")
    os.environ["DEEPONES_HOME"] = home
    try:
        from backend.ideation.result import CPU_PROBE_BATCH

        probe = min(args.batch, CPU_PROBE_BATCH)
        print(f"load before: {load()}")
        bare_times, check_times, overheads = [], [], []
        for i in range(args.rounds):
            bare_s, params, flops = run_bare(args.batch, probe)
            check_s, result = run_check(args.batch)
            if result.status != "ok":
                print(f"the check failed: {result.error}\n{result.traceback}")
                return 1
            if result.params != params or abs(result.flops_per_sample - flops) > 0.01 * flops:
                print(f"the check and the bare script disagree: {result.params} vs {params} params, "
                      f"{result.flops_per_sample} vs {flops} FLOPs")
                return 1
            job_s = result.timings.get("job_wall_s") or 0.0
            overheads.append((check_s - job_s, job_s))
            bare_times.append(bare_s)
            check_times.append(check_s)
            print(f"round {i + 1}: bare {bare_s:.2f} s, check {check_s:.2f} s (launcher {check_s - job_s:.2f} s, "
                  f"job {job_s:.2f} s, measured batch {result.measured_batch}, trace "
                  f"{result.timings.get('trace_s', 0):.2f} s) — load{load()}")
        bare, check = statistics.median(bare_times), statistics.median(check_times)
        ratio = check / bare
        launcher = statistics.median(o[0] for o in overheads)
        verdict = "ok" if ratio <= args.target else "MISS"
        print(f"median: bare {bare:.2f} s, check {check:.2f} s, ratio {ratio:.2f}x (target <= {args.target}x), "
              f"launcher start {launcher:.2f} s — {verdict}; load{load()}")
        print(json.dumps({"bare_s": bare, "check_s": check, "ratio": ratio, "launcher_s": launcher,
                          "batch": args.batch, "target": args.target, "ok": ratio <= args.target}))
        return 0 if ratio <= args.target else 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
