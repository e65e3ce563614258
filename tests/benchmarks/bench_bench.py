"""Bench benchmark: DeepQA scoring speed through the app, and the Ray executor's overhead per run.

    python tests/benchmarks/bench_bench.py [--questions N] [--runs N] [--no-ray | --no-deepqa]

Each figure is printed next to a baseline measured in the same run, interleaved so machine load
hits both alike; the script exits 1 when a target is missed:
1. DeepQA questions/s through the app (``backend.bench.deepqa.run_eval`` with the log-likelihood
   scorer: scoring, choosing, one store row per question) vs raw llama-cpp-python scoring the same
   prompts and options (prompt once, each option after it). Target: ratio >= 0.9.
2. A trivial program run through the Ray executor vs the local executor, submit to result, on a
   real local Ray cluster started here (and stopped after). Target: <= 1.5 s extra per run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
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
    from backend.store import open_store

    home = Path(tempfile.mkdtemp(prefix="deepones-bench-deepqa-"))
    db = open_store(home)
    items = deepqa.load_file(ROOT / "resources" / "demo" / "deepdata_demo.jsonl")[:n_questions]
    scorer = deepqa.make_scorer("embedded", "loglik")   # the app's scorer (its own model instance)
    raw_llm = deepqa.load_scoring_model(scorer.path, 2048)   # same parameters, for the raw baseline
    step = max(1, len(items) // 8)
    app_s, raw_s = [], []
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
            deepqa.run_eval(db, eval_id, chunk, scorer)
            app_s.append(time.perf_counter() - t)
    finally:
        scorer.close()
        raw_llm.close()
        db.conn.close()
        shutil.rmtree(home, ignore_errors=True)
    app_qps, raw_qps = len(items) / sum(app_s), len(items) / sum(raw_s)
    ratio = app_qps / raw_qps
    ok = ratio >= 0.9
    print(f"deepqa loglik: app {app_qps:.2f} questions/s vs raw llama-cpp-python {raw_qps:.2f} questions/s "
          f"({len(items)} questions) -> ratio {ratio:.2f} (target >= 0.9) {'OK' if ok else 'MISSED'}")
    return ok


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_ray(runs: int) -> bool:
    from backend.bench.ray_cluster import RaySettings
    from backend.bench.ray_executor import RayExecutor
    from backend.jobs.executors import LocalExecutor
    from backend.jobs.runner import read_status
    from backend.jobs.spec import JobSpec

    ray_bin = str(Path(sys.executable).parent / "ray")
    port, dash = _free_port(), _free_port()
    temp = f"/tmp/rb{port}"
    started = subprocess.run([ray_bin, "start", "--head", "--num-cpus", "2", "--num-gpus", "0", "--port", str(port),
                              "--dashboard-port", str(dash), "--dashboard-host", "127.0.0.1", "--include-dashboard",
                              "true", "--node-ip-address", "127.0.0.1", "--temp-dir", temp, "--disable-usage-stats"],
                             capture_output=True, text=True, timeout=300)
    if started.returncode != 0:
        print(f"ray start failed: {started.stderr.strip()[-300:]}")
        return False
    home = Path(tempfile.mkdtemp(prefix="deepones-bench-ray-"))
    os.environ["DEEPONES_HOME"] = str(home)
    try:
        address = f"http://127.0.0.1:{dash}"
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + 120
        while True:
            try:
                JobSubmissionClient(address).list_jobs()
                break
            except Exception:  # noqa: BLE001 - the dashboard is still starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
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
        subprocess.run([ray_bin, "stop"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    local_m, ray_m, raw_m = statistics.median(local_s), statistics.median(ray_s), statistics.median(raw_s)
    extra = ray_m - local_m
    ok = extra <= 1.5
    print(f"ray executor: {ray_m:.2f} s per trivial run vs local executor {local_m:.2f} s (median of {runs}) "
          f"-> {extra:+.2f} s extra (target <= 1.5 s) {'OK' if ok else 'MISSED'}")
    print(f"  back to back (no pause, the next standby still starting): {statistics.median(b2b_s):.2f} s per run "
          f"(median of {len(b2b_s)}); {stopped} standby job(s) stopped at the end")
    print(f"  for reference: a bare Ray Jobs API job (python -c pass, no app) took {raw_m:.2f} s (median of {runs}); "
          f"load average now {os.getloadavg()[0]:.1f}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-deepqa", action="store_true")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = True if args.no_deepqa else bench_deepqa(args.questions)
    if not args.no_ray:
        ok = bench_ray(args.runs) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
