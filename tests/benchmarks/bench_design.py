"""Orchestration overhead of a debug step, next to the sandbox's own launch time.

Replay designer and programmer on the demo task: the programmer's program fails every time (a
quick KeyError, no torch), so each debug step is: streamed answer -> code extraction -> ast.parse
-> record -> sandboxed run -> record. Per step it prints

* chunk->run: from the answer's last chunk to calling the sandbox (extraction, syntax check, the
  step row written), plus the recording after the run;
* launch: the sandbox's own time from being called to the program running (status.json);

and, as a baseline measured in the same run, the launch time of the same program through
``run_job`` directly, with no pipeline around it. Target: overhead <= 100 ms beyond the launch;
the script exits 1 when it is missed.

    python tests/benchmarks/bench_design.py [--steps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "design" / "fixtures"
TARGET_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5, help="debug steps (the fixture has 5)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deepones-bench-design-"))
    os.environ["DEEPONES_HOME"] = str(home)

    from backend.jobs import run_job
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
    from backend.pipeline.sandbox import _launch_s, program_spec
    from backend.store import open_store

    db = open_store(home)
    store = SessionStore(db)
    settings = SessionSettings(max_debug=args.steps, validation_time_limit_s=60)
    sid = store.create_session(get_task("demo-digits"), f"replay:{FIXTURES / 'designer.jsonl'}",
                               f"replay:{FIXTURES / 'programmer_failing.jsonl'}", settings)
    t0 = time.perf_counter()
    state = DesignRunner(db, sid, root=home).run_until()
    total = time.perf_counter() - t0
    debug_steps = [s for s in state.steps if s.stage == "debug"]
    assert len(debug_steps) == args.steps, [s.summary() for s in state.steps]

    # Baseline: the same program through run_job directly, same number of launches.
    baseline = []
    for step in debug_steps:
        spec = program_spec(step.code or "", "validate", settings, name="bench baseline")
        called = time.time()
        result = run_job(spec, root=home, db=db)
        baseline.append(_launch_s(result.workdir, called) or 0.0)

    print(f"{'step':<9}{'chunk->run ms':>14}{'record ms':>11}{'overhead ms':>13}{'launch ms':>11}{'run ms':>9}")
    overheads, launches = [], []
    for step in debug_steps:
        t = step.timings
        over = t["overhead_s"] * 1000
        launch = (t.get("launch_s") or 0.0) * 1000
        overheads.append(over)
        launches.append(launch)
        print(f"{step.title:<9}{t['chunk_to_run_s'] * 1000:>14.1f}{t['record_after_s'] * 1000:>11.1f}"
              f"{over:>13.1f}{launch:>11.1f}{t['run_s'] * 1000:>9.0f}")
    med_over, med_launch = statistics.median(overheads), statistics.median(launches)
    med_base = statistics.median(baseline) * 1000
    print(f"median orchestration overhead per debug step: {med_over:.1f} ms (target <= {TARGET_MS:.0f} ms beyond launch)")
    print(f"median sandbox launch inside the pipeline: {med_launch:.1f} ms; run_job alone (baseline): {med_base:.1f} ms")
    print(f"overhead / launch ratio: {med_over / med_launch:.3f}" if med_launch else "overhead / launch ratio: n/a")
    ok = med_over <= TARGET_MS
    print(f"whole session ({len(state.steps)} steps, {args.steps} debug runs): {total:.1f} s; "
          f"{'PASS' if ok else 'FAIL'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
