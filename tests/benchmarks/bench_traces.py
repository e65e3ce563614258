"""Traces at scale: filter changes and opening the largest trace, next to bare SQL of the same rows.

Builds a store with 10,000 design sessions / 200,000 attempts (steps written through the real
tables and their triggers; error types, tasks, models, debug depths and dates drawn like a
DeepBench sweep, a few thousand labels), then measures

* a filter change: ``backend.traces.index.query`` (the trace page the GUI shows: 500 rows with
  their error types and labels, the total, the per-error-type and per-label counts), over a mix
  of outcome / error / label / task / model / debug-depth / date / full-text filters; baseline:
  the bare ``SELECT`` of the same page of rows from the summary index;
* opening the largest trace: ``load_trace`` (every attempt with its code and capped output,
  labels, notes); baseline: the bare ``SELECT`` of that session's step rows.

Targets: filter-change p95 <= 100 ms, open <= 200 ms. Exits 1 on a miss.

    python tests/benchmarks/bench_traces.py [--sessions 10000] [--attempts 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FILTER_P95_MS, OPEN_MS = 100.0, 200.0
TASKS = ["demo-digits", "cifar10-resnet", "imdb-sentiment", "mnist-mlp", "ag-news", "speech-commands",
         "tiny-imagenet", "sst2-bert", "fashion-mnist", "wikitext-lm"]
MODELS = ["deepllama-8b.Q4_K_M.gguf", "smollm2-135m.Q4_1.gguf", "gpt-4o-mini", "qwen2.5-coder-7b.gguf"]
ERRORS = ["RuntimeError"] * 6 + ["ModuleNotFoundError"] * 3 + ["AttributeError"] * 3 + [
    "TypeError", "TypeError", "KeyError", "ValueError", "NameError", "IndexError", "Timeout", "OutOfMemory",
    "SyntaxError", "FileNotFoundError"]
WORDS = ("conv batchnorm dropout attention embedding lstm transformer residual pooling softmax optimizer "
         "scheduler warmup tokenizer dataloader checkpoint gradient").split()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _code(rng: random.Random, i: int) -> str:
    picks = " ".join(rng.sample(WORDS, 4))
    return (f"import torch\nfrom torch import nn\n# {picks}\nmodel = nn.Sequential(nn.Linear({rng.randint(8, 512)},"
            f" {rng.randint(8, 512)}), nn.ReLU(), nn.Linear({rng.randint(8, 512)}, 10))\n"
            f"opt = torch.optim.Adam(model.parameters(), lr={rng.choice([1e-3, 3e-4, 1e-2])})\n"
            f"for epoch in range({rng.randint(1, 30)}):\n    train_step_{i % 97}(model, opt)\n")


def _stderr(error: str, line: int) -> str:
    return (f'Traceback (most recent call last):\n  File "/jobs/x/program.py", line {line}, in <module>\n'
            f"    out = model(xb)\n{error}: something went wrong at step {line}\n")


def build(db, n_sessions: int, n_attempts: int, rng: random.Random, largest: int) -> int:
    """Write the sessions; returns the id of the largest one."""
    from backend.store import transaction

    now = time.time()
    per = [max(4, int(rng.gauss(n_attempts / n_sessions, 6))) for _ in range(n_sessions)]
    per[0] = largest
    diff = n_attempts - sum(per)
    i = 1
    while diff:  # make the total exact, keeping every session >= 4 steps
        step = 1 if diff > 0 else -1
        if per[i] + step >= 4:
            per[i] += step
            diff -= step
        i = i % (n_sessions - 1) + 1
    big_log = "".join(f"epoch={e} step={s} loss={rng.random():.4f}\n" for e in range(40) for s in range(20))
    sid_of_largest = None
    for start in range(0, n_sessions, 500):
        with transaction(db):
            for k in range(start, min(start + 500, n_sessions)):
                created = now - rng.uniform(0, 365 * 86400)
                task, designer, programmer = rng.choice(TASKS), rng.choice(MODELS), rng.choice(MODELS)
                cur = db.conn.execute(
                    "INSERT INTO design_sessions (title, task, task_spec, designer, programmer, settings, status,"
                    " created_at, updated_at) VALUES (?, ?, '{}', ?, ?, '{}', 'open', ?, ?)",
                    (f"{task} run {k}", task, designer, programmer, created, created))
                sid = cur.lastrowid
                if k == 0:
                    sid_of_largest = sid
                parent = None
                n = per[k]
                recovers = rng.random() < 0.55   # else: every attempt fails until the debug budget is spent
                stages = (["propose", "improve", "implement"] + ["debug"] * (n - 5) + ["hyperparameters", "final"]
                          if recovers else ["propose", "improve", "implement"] + ["debug"] * (n - 3))
                rows = []
                for j, stage in enumerate(stages[:n]):
                    run = stage in ("implement", "debug", "final")
                    last_debug = stage == "debug" and (j + 1 == n or stages[j + 1] != "debug")
                    ok = run and (stage == "final" or (recovers and last_debug))
                    error = rng.choice(ERRORS) if run and not ok else None
                    code = _code(rng, j) if run else None
                    stdout = (big_log if k == 0 else f"epoch=1 loss={rng.random():.3f}\n") if run else None
                    rows.append((sid, stage, j, "succeeded" if ok else ("failed" if run else "done"),
                                 f"prompt {j}", f"response {j}", code, stdout,
                                 _stderr(error, rng.randint(3, 9)) if error else ("" if run else None), error,
                                 f"{error} -> changed line {j}" if stage == "debug" else None,
                                 rng.random() if ok else None, designer if not run else programmer,
                                 created + j, created + j))
                for row in rows:
                    cur = db.conn.execute(
                        "INSERT INTO design_steps (session_id, parent_id, stage, attempt, status, prompt, response,"
                        " code, stdout, stderr, error_type, debug_log, score, model, created_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (row[0], parent, *row[1:]))
                    parent = cur.lastrowid
                db.conn.execute("UPDATE design_sessions SET current_step_id = ? WHERE id = ?", (parent, sid))
        print(f"  built {min(start + 500, n_sessions):,} sessions", end="\r", flush=True)
    print()
    return sid_of_largest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=200_000)
    parser.add_argument("--largest", type=int, default=400, help="attempts in the largest trace")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deepones-bench-traces-"))
    os.environ["DEEPONES_HOME"] = str(home)
    from backend.store import open_store
    from backend.traces import index
    from backend.traces import labels as lb
    from backend.traces.index import TraceFilter
    from backend.traces.model import load_trace

    rng = random.Random(7)
    db = open_store(home)
    t = time.perf_counter()
    largest = build(db, args.sessions, args.attempts, rng, args.largest)
    n_steps = db.conn.execute("SELECT count(*) FROM design_steps").fetchone()[0]
    print(f"bench_traces: {args.sessions:,} sessions / {n_steps:,} attempts written in {time.perf_counter() - t:.1f} s"
          f" (with the full-text triggers); store {home}", flush=True)
    t = time.perf_counter()
    index.refresh(db)
    print(f"summary index built for {args.sessions:,} sessions in {time.perf_counter() - t:.1f} s (once; then"
          " only changed sessions are re-read)", flush=True)
    ids = [r[0] for r in db.conn.execute("SELECT id FROM design_sessions")]
    names = [x.name for x in lb.label_set(home)]
    for name in names[:6]:
        lb.add_labels(db, [(sid, 0) for sid in rng.sample(ids, 400)], name, who="bench")

    filters = [TraceFilter(), TraceFilter(outcome="failed"), TraceFilter(outcome="recovered"),
               TraceFilter(error_type="RuntimeError"), TraceFilter(error_type="OutOfMemory", outcome="failed"),
               TraceFilter(label=names[0]), TraceFilter(label=names[2], outcome="recovered"),
               TraceFilter(task="cifar10-resnet"), TraceFilter(designer=MODELS[0], programmer=MODELS[2]),
               TraceFilter(min_debug=20), TraceFilter(max_debug=3, outcome="failed"),
               TraceFilter(since=time.time() - 30 * 86400), TraceFilter(text="attention residual"),
               TraceFilter(text="ModuleNotFoundError", task="imdb-sentiment"),
               TraceFilter(error_type="KeyError", label=names[1], task="mnist-mlp")]
    ours, bare = [], []
    for _round in range(5):
        for flt in filters:
            t = time.perf_counter()
            page = index.query(db, flt, limit=500)
            ours.append((time.perf_counter() - t) * 1000)
            where, params = index._where(flt)
            t = time.perf_counter()
            rows = db.conn.execute(f"SELECT t.* FROM trace_index t WHERE {where} ORDER BY t.created_at DESC,"
                                   f" t.session_id DESC LIMIT 500", params).fetchall()
            bare.append((time.perf_counter() - t) * 1000)
            assert len(rows) == len(page.rows)
    p95 = percentile(ours, 0.95)
    print(f"filter change ({len(ours)} changes over {len(filters)} filters, page of 500 + total + counts):"
          f" p50 {percentile(ours, 0.5):.1f} ms, p95 {p95:.1f} ms (target <= {FILTER_P95_MS:.0f});"
          f" bare SQL of the same page: p50 {percentile(bare, 0.5):.1f} ms, p95 {percentile(bare, 0.95):.1f} ms",
          flush=True)
    print("  totals: " + ", ".join(f"{json.dumps({k: v for k, v in vars(f).items() if v not in (None, '', ())})}"
                                   f"={index.query(db, f, limit=1).total:,}" for f in filters[:5]), flush=True)

    opens, bare_open = [], []
    for _ in range(5):
        t = time.perf_counter()
        trace = load_trace(db, largest)
        opens.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        rows = db.conn.execute("SELECT * FROM design_steps WHERE session_id = ? ORDER BY id", (largest,)).fetchall()
        bare_open.append((time.perf_counter() - t) * 1000)
    open_ms = sorted(opens)[len(opens) // 2]
    size_mb = sum(len(r[10] or "") + len(r[9] or "") for r in rows) / 1e6
    print(f"open largest trace ({len(trace.attempts)} attempts, {size_mb:.1f} MB of code and logs): median"
          f" {open_ms:.1f} ms of 5 (target <= {OPEN_MS:.0f}); bare SQL of its rows {sorted(bare_open)[2]:.1f} ms",
          flush=True)
    db.conn.close()
    missed = [m for m, bad in (("filter p95", p95 > FILTER_P95_MS), ("open", open_ms > OPEN_MS)) if bad]
    if missed:
        print(f"bench_traces: MISSED {', '.join(missed)}", flush=True)
        sys.exit(1)
    print("bench_traces: all targets met", flush=True)


if __name__ == "__main__":
    main()
