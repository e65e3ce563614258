"""Jobs benchmark: sandbox launch overhead, metric-parsing throughput, live chart streaming.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_jobs.py [--quick]

Every figure is measured in this run against a baseline measured in the same run:
1. ``python -c pass`` through the sandbox vs a bare ``subprocess.run`` (target ratio <= 1.5),
   interleaved so machine load hits both alike; medians of N runs.
2. metric extraction over a mixed 1M-line training log into per-metric columns (what the charts
   and the store take) vs a bare line-by-line read of the file (target >= 500k lines/s). Both in
   CPU time of this process (``time.process_time``), so other processes on a shared machine do
   not count against it; wall time is printed next to it.
3. 20,000 points/s for 10 s streamed into a MetricChart inside a running qasync loop: the event
   loop's lag p99 (target <= 30 ms), then one full redraw of the whole series (target <= 50 ms).

Exits 1 when a target is missed (the lines say which).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
MISSED: list[str] = []


def check(ok: bool, what: str) -> str:
    if not ok:
        MISSED.append(what)
    return "ok" if ok else "MISSED"


def bench_launch(n: int) -> None:
    from backend.jobs import JobSpec, run_job, start_job
    from backend.store import open_store

    home = Path(tempfile.mkdtemp(prefix="deepones-bench-jobs-"))
    os.environ["DEEPONES_HOME"] = str(home)
    db = open_store(home)
    spec = JobSpec(argv=["-c", "pass"])
    bare, sandboxed, recorded = [], [], []
    for _ in range(2):  # warm caches (bytecode, page cache)
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        start_job(spec, root=home).wait()
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = start_job(spec, root=home).wait()
        sandboxed.append(time.perf_counter() - t)
        assert result.status == "succeeded", result
        t = time.perf_counter()
        result = run_job(spec, root=home, db=db)
        recorded.append(time.perf_counter() - t)
        assert result.status == "succeeded", result
    b, s, r = (statistics.median(v) * 1000 for v in (bare, sandboxed, recorded))
    print(f"launch: bare subprocess.run(python -c pass)          median {b:7.1f} ms  (n={n})")
    print(f"launch: sandboxed job (start_job + wait)             median {s:7.1f} ms  ratio {s / b:.2f}  (target <= 1.5)"
          f"  {check(s / b <= 1.5, 'launch ratio')}")
    print(f"launch: run_job recorded in the store (+DB, metrics) median {r:7.1f} ms  ratio {r / b:.2f}")
    db.conn.close()


MIXED = [
    "{'loss': 0.6931, 'grad_norm': 3.21, 'learning_rate': 4.5e-05, 'epoch': %(e)s}",
    '{"step": %(i)d, "loss": %(v)s, "acc": "0.91"}',
    "1875/1875 [==============================] - 4s 2ms/step - loss: %(v)s - accuracy: 0.9253 - val_loss: 0.1364",
    "Epoch 1: 100%%|##########| %(i)d/938 [00:15<00:00, 61.20it/s, v_num=0, train_loss=%(v)s]",
    "Train: 3 [ %(i)d/1251 (  4%%)]  Loss: %(v)s (6.91)  Time: 0.472s, 2169.31/s  LR: 1.000e-05  Data: 0.014 (0.062)",
    "2021-03-01 10:00:01 | INFO | train_inner | epoch 001:    %(i)d / 1000 loss=%(v)s, ppl=548.92, wps=10423.1, lr=1.25e-05",
    "| epoch 002 | loss %(v)s | ppl 181.3 | num_updates %(i)d | lr 0.0005",
    "Epoch [1/10], Step [%(i)d/600], Loss: %(v)s",
    "[1, %(i)5d] loss: %(v)s",
    "INFO: downloading shard %(i)d of the data set, nothing numeric to see here",
    "Some warning without metrics: the quick brown fox jumps over the lazy dog",
]


def bench_parsing(lines: int) -> None:
    from backend.jobs.metric_columns import count_points
    from backend.jobs.metrics import parse_file_columns

    path = Path(tempfile.mkdtemp(prefix="deepones-bench-log-")) / "mixed.log"
    with open(path, "w") as fh:
        for i in range(lines):
            fh.write(MIXED[i % len(MIXED)] % {"i": i % 1000 + 1, "v": f"{1 / (1 + i % 97):.4f}", "e": i / 1000} + "\n")
    size_mb = path.stat().st_size / 2**20
    c, t = time.process_time(), time.perf_counter()
    with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
        count = sum(1 for _ in fh)
    bare, bare_wall = time.process_time() - c, time.perf_counter() - t
    c, t = time.process_time(), time.perf_counter()
    columns = parse_file_columns(path)   # name -> (steps, values): what the charts and the store take
    parse, parse_wall = time.process_time() - c, time.perf_counter() - t
    points = count_points(columns)       # one point per (line, metric), as parse_file's list had
    assert count == lines and points > lines
    rate = lines / parse
    print(f"parse: bare line-by-line read of {lines:,} lines ({size_mb:.0f} MB)  {bare:6.2f} s CPU ({bare_wall:.2f} s wall)"
          f"  ({lines / bare / 1e6:.1f} M lines/s)")
    print(f"parse: metric extraction, {points:,} points                {parse:6.2f} s CPU ({parse_wall:.2f} s wall)"
          f"  ({rate / 1e3:.0f} k lines/s, target >= 500k)  ratio {parse / bare:.1f}x the bare read"
          f"  {check(rate >= 500_000, 'metric extraction rate')}")


def bench_streaming(seconds: float, rate: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import qasync
    from PySide6.QtWidgets import QApplication

    from deepones_gui.widgets.metric_chart import MetricChart

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    chart = MetricChart()
    chart.resize(1000, 700)
    chart.show()
    chart.set_job_live("bench", True)       # a running job: the x axis keeps headroom
    lags: list[float] = []
    sent = 0

    async def producer() -> None:
        nonlocal sent
        tick = 0.01
        per_tick = int(rate * tick)
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            x = np.arange(sent, sent + per_tick, dtype=float)
            chart.add_points("bench", "loss", x, np.exp(-x / 1e5) + 0.05 * np.sin(x / 50))
            sent += per_tick
            # Catch up if we fell behind, so the rate is really `rate` points/s.
            due = start + (sent / rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))

    async def probe() -> None:
        interval = 0.005
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            await asyncio.sleep(interval)
            lags.append(time.perf_counter() - t - interval)

    async def idle_probe(duration: float) -> list[float]:
        out = []
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            out.append(time.perf_counter() - t - 0.005)
        return out

    async def main() -> list[float]:
        # Baseline first: the same probe with the chart on screen but nothing streaming, so
        # scheduling noise of a busy machine is visible next to the chart's own cost.
        base = await idle_probe(3.0)
        await asyncio.gather(producer(), probe())
        return base

    with loop:
        base = sorted(loop.run_until_complete(main()))
    print(f"stream: baseline, idle loop (no streaming): lag p50 {base[len(base) // 2] * 1000:.1f} ms, "
          f"p99 {base[int(len(base) * 0.99)] * 1000:.1f} ms")
    lags.sort()
    p50 = lags[len(lags) // 2] * 1000
    p99 = lags[int(len(lags) * 0.99)] * 1000
    print(f"stream: {sent:,} points in {seconds:g} s into a live chart: event-loop lag p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms  (target <= 30 ms)  {check(p99 <= 30, 'stream lag')}")
    panel = chart.panels["loss"]
    redraws = []
    for _ in range(5):
        t = time.perf_counter()
        chart.refresh(force=True)
        panel.plot.viewport().repaint()
        app.processEvents()
        redraws.append(time.perf_counter() - t)
    full = statistics.median(redraws) * 1000
    print(f"stream: one full redraw of the {sent:,}-point series (smoothed + raw)  median {full:.1f} ms  (target <= 50 ms)"
          f"  {check(full <= 50, 'full redraw')}")
    chart.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    bench_launch(10 if args.quick else 30)
    bench_parsing(100_000 if args.quick else 1_000_000)
    bench_streaming(2.0 if args.quick else 10.0, 20_000)   # pyqtgraph and qasync are dependencies
    if MISSED:
        print(f"MISSED: {', '.join(MISSED)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
