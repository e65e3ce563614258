"""Bench benchmark: DeepQA scoring speed through the app, and the Ray executor's overhead per run.

    python tests/benchmarks/bench_bench.py [--questions N] [--runs N] [--no-ray | --no-deepqa]

Each figure is printed next to a baseline measured in the same run, interleaved so machine load
hits both alike, with ``uptime``'s load averages; the script exits 1 when a target is missed. It runs
in a temporary data folder (``DEEPONES_HOME``), removed at the end.
1. DeepQA questions/s through the app (``backend.bench.deepqa.run_eval`` with the log-likelihood
   scorer: scoring, choosing, one store row per question) vs raw llama-cpp-python scoring the same
   prompts and options (prompt once, each option after it). Both sides include their model load: the
   app's worker start, canary and load on its first question, the raw side's ``Llama()``. Target: ratio >= 0.9.
2. A trivial program run through the Ray executor vs the local executor, submit to result, on a
   real local Ray cluster started here (and stopped after). Target: <= 1.5 s extra per run.
"""

from __future__ import annotations

import argparse
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


def raw_score(llm, prompt: str, options: list[str]) -> int:
    """The baseline: plain llama-cpp-python, prompt evaluated once, each option continued from it."""
    import numpy as np

    ctx = llm.tokenize(prompt.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(ctx)
    n = llm.n_tokens
    best, best_i = -1e30, 0
    for i, option in enumerate(options):
        cont = llm.tokenize((prompt + option).encode(), add_bos=True, special=False)[len(ctx):]
        llm.n_tokens = n
        if len(cont) > 1:
            llm.eval(cont[:-1])
        logits = np.asarray(llm.scores[n - 1:n - 1 + len(cont)], dtype=np.float64)
        peak = logits.max(1, keepdims=True)
        logz = np.log(np.exp(logits - peak).sum(1)) + peak[:, 0]
        total = float(sum(logits[j, t] - logz[j] for j, t in enumerate(cont)))
        if total > best:
            best, best_i = total, i
    return best_i


def bench_deepqa(n_questions: int) -> bool:
    from backend.bench import deepqa
    from backend.paths import data_dir
    from backend.store import open_store

    db = open_store(data_dir())   # the temporary data folder main() set up
    items = deepqa.load_file(ROOT / "resources" / "demo" / "deepdata_demo.jsonl")[:n_questions]
    step = max(1, len(items) // 8)
    # Both sides include their model load: the app's scorer starts its model worker (and, the first time
    # in a data folder, the canary child) on its first question, so the raw side's Llama() counts too.
    t = time.perf_counter()
    raw_llm = deepqa.load_scoring_model(_embedded(), 2048)
    raw_s = [time.perf_counter() - t]
    t = time.perf_counter()
    scorer = deepqa.make_scorer("embedded", "loglik")   # the app's scorer (its own model instance)
    app_s = [time.perf_counter() - t]
    load_raw, setup_app = raw_s[0], app_s[0]
    first_app = None
    threads: dict = {"used": {}, "last": None}   # the app's batch thread counts, over every chunk's evaluation
    try:
        # Interleaved in small chunks (raw, app, raw, app, ...) so a burst of load from other work on
        # the machine lands on both sides alike instead of on one half of the comparison.
        for chunk in (items[i:i + step] for i in range(0, len(items), step)):
            t = time.perf_counter()
            for item in chunk:
                prompt, conts = deepqa.loglik_prompt(item)
                raw_score(raw_llm, prompt, conts)
            raw_s.append(time.perf_counter() - t)
            eval_id = deepqa.create_eval(db, "embedded", "loglik", {"file": "bench"}, len(chunk))
            t = time.perf_counter()
            result = deepqa.run_eval(db, eval_id, chunk, scorer)
            app_s.append(time.perf_counter() - t)
            first_app = app_s[-1] if first_app is None else first_app
            for n, q in (result["batch_threads"] or {}).get("used", {}).items():
                threads["used"][n] = threads["used"].get(n, 0) + q
            threads["last"] = (result["batch_threads"] or {}).get("last")
    finally:
        scorer.close()
        raw_llm.close()
        db.conn.close()
    app_qps, raw_qps = len(items) / sum(app_s), len(items) / sum(raw_s)
    ratio = app_qps / raw_qps
    ok = ratio >= 0.9
    print(f"deepqa loglik: app {app_qps:.2f} questions/s vs raw llama-cpp-python {raw_qps:.2f} questions/s "
          f"({len(items)} questions, model load included on both sides) -> ratio {ratio:.2f} (target >= 0.9) "
          f"{'OK' if ok else 'MISSED'}")
    print(f"  raw: Llama() load {load_raw:.2f} s; app: scorer set up {setup_app:.2f} s, first chunk (worker start, "
          f"canary, model load, thread probe, {step} questions) {first_app:.2f} s")
    from backend.llm.batch_threads import describe

    print(f"  app {describe(threads)}; raw: {raw_llm.n_threads_batch} batch threads (every core, as loaded)")
    return ok


def _embedded() -> Path:
    from backend.llm.catalog import resolve_model_path

    return resolve_model_path("embedded")


def bench_ray(runs: int) -> bool:
    from backend.bench.ray_cluster import RaySettings
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.executors import LocalExecutor
    from backend.jobs.runner import read_status
    from backend.jobs.spec import JobSpec
    from tests import ray_head

    if not ray_head.only_loopback():
        print("ray executor: not measured: Ray listens beyond loopback; run this in a private network "
              "namespace (scripts/run_benchmarks.sh bench_bench does)")
        return False
    try:
        address, temp = ray_head.start_head(num_cpus=2)
    except RuntimeError as exc:
        print(f"ray start failed: {str(exc)[-300:]}")
        return False
    home = Path(tempfile.mkdtemp(prefix="deepones-bench-ray-"))   # the jobs' folders (main's data folder stays)
    try:
        from ray.job_submission import JobSubmissionClient

        settings = RaySettings(address=address, python=sys.executable, num_cpus=1, num_gpus=0)
        ray_ex, local_ex = RayExecutor(root=home, settings=settings), LocalExecutor(root=home)
        spec = JobSpec(argv=["prog.py"], interpreter=sys.executable, files={"prog.py": "open('metric.log','w').write('1')\n"})
        for ex in (local_ex, ray_ex):   # warm-up: the cluster's first job starts its workers
            assert ex.run(spec).status == "succeeded"
        client = JobSubmissionClient(address)

        def raw_job() -> float:
            """Ray's own floor: a bare ``python -c pass`` job through the Jobs API, submit to SUCCEEDED."""
            t = time.perf_counter()
            sid = client.submit_job(entrypoint=f"{sys.executable} -I -S -c pass")
            while str(client.get_job_status(sid).value) not in ("SUCCEEDED", "FAILED", "STOPPED"):
                time.sleep(0.05)
            return time.perf_counter() - t

        from backend.bench import ray_standby_pool

        local_s, ray_s, raw_s, b2b_s = [], [], [], []
        for _ in range(runs):
            raw_s.append(raw_job())
            # As in a sweep, where the designer's turn comes between two runs: the standby job the last
            # run started for the next one has had time to start (its own start is Ray's 2-3 s).
            ready = ray_standby_pool.wait_ready(client, 60)
            t = time.perf_counter()
            r = local_ex.run(spec)
            local_s.append(time.perf_counter() - t)
            assert r.status == "succeeded" and r.score == 1.0, r
            t = time.perf_counter()
            r = ray_ex.run(spec)
            ray_s.append(time.perf_counter() - t)
            assert r.status == "succeeded" and r.score == 1.0, r
            assert ready and read_status(r.workdir).get("ray_standby"), "the run did not go to a standby job"
        for _ in range(min(runs, 3)):   # no pause between runs: the standby is still starting
            t = time.perf_counter()
            r = ray_ex.run(spec)
            b2b_s.append(time.perf_counter() - t)
            assert r.status == "succeeded", r
        stopped = ray_standby_pool.stop_all()
    finally:
        ray_head.stop_head(temp)
        shutil.rmtree(home, ignore_errors=True)
    local_m, ray_m, raw_m = statistics.median(local_s), statistics.median(ray_s), statistics.median(raw_s)
    extra = ray_m - local_m
    ok = extra <= 1.5
    print(f"ray executor: {ray_m:.2f} s per trivial run vs local executor {local_m:.2f} s (median of {runs}) "
          f"-> {extra:+.2f} s extra (target <= 1.5 s) {'OK' if ok else 'MISSED'}")
    print(f"  back to back (no pause, the next standby still starting): {statistics.median(b2b_s):.2f} s per run "
          f"(median of {len(b2b_s)}); {stopped} standby job(s) stopped at the end")
    print(f"  for reference: a bare Ray Jobs API job (python -c pass, no app) took {raw_m:.2f} s (median of {runs}); "
          f"{load_average()}")
    return ok


def load_average() -> str:
    """``uptime``'s load averages (1, 5, 15 minutes), so every figure says how busy the machine was."""
    try:
        out = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
        return out[out.index("load average"):] if "load average" in out else out
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-deepqa", action="store_true")
    args = parser.parse_args()
    # A data folder of its own: the worker's canary record, the evaluations and the Ray settings land
    # there, never in the user's data folder (and the canary runs, as on a first start, timed).
    home = Path(tempfile.mkdtemp(prefix="deepones-bench-bench-"))
    os.environ["DEEPONES_HOME"] = str(home)
    print(f"{load_average()} on {os.cpu_count()} CPUs; data folder {home} (removed at the end)")
    try:
        ok = True if args.no_deepqa else bench_deepqa(args.questions)
        if not args.no_ray:
            ok = bench_ray(args.runs) and ok
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"at the end: {load_average()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
