"""The whole loop offline on CPU: the embedded SmolLM2 as base, the demo data (both stages, replay
on), a few steps of the built-in trainer as a job, loss parsed into the charts' metrics, merge,
GGUF, Q8_0, llama.cpp loads and answers, DeepQA before/after, lineage recorded.

One run is shared by the tests of this module (training is the slow part).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train.conftest import needs_training

# The train tier: a module fixture fine-tunes SmolLM2 over both stages (minutes); the fast tier keeps one
# real end-to-end training run through the CLI (tests/train/test_cli_train.py).
pytestmark = [needs_training, pytest.mark.train, pytest.mark.timeout(2400)]  # minutes on a loaded 2-core machine

STEPS = 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from backend.datasets.demo import ensure_demo
    from backend.store import open_store
    from backend.train.export import export_run
    from backend.train.launch import prepare_run, run_to_end
    from tests.train.demo_run import demo_recipe

    root = tmp_path_factory.mktemp("train-home")
    db = open_store(root)
    ensure_demo(db)
    recipe = demo_recipe(max_steps=STEPS, seq_len=48, batch=2)
    recipe.fixed_batch = True          # the same batch every step: its loss must go down
    recipe.learning_rate = 2e-3
    prepared = prepare_run(db, base="embedded", data_source="all", recipe=recipe, name="loop test", root=root)
    output: list[str] = []
    run = run_to_end(db, prepared.run_id, root=root, on_output=lambda _s, text: output.append(text),
                     torch_threads=2)
    gguf = export_run(db, prepared.run_id, quantization="Q8_0", root=root) if run["status"] == "succeeded" else None
    yield {"db": db, "root": root, "run_id": prepared.run_id, "run": run, "gguf": gguf,
           "output": "".join(output), "summary": prepared.summary}
    db.conn.close()


def test_training_is_a_job_over_both_stages_with_replay(trained):
    run, db = trained["run"], trained["db"]
    assert run["status"] == "succeeded", trained["output"][-3000:]
    stages = {s["stage"]: s for s in trained["summary"]}
    assert stages["instruction"]["samples"] > 0 and stages["dlpd"]["replayed"] >= 1
    assert run["steps"] == 2 * STEPS   # max_steps caps each of the two stages
    job = db.conn.execute("SELECT status, origin FROM jobs WHERE id=?", (run["job_id"],)).fetchone()
    assert job == ("succeeded", f"train:{run['id']}")
    assert "Stage 2 of 2 - dlpd" in trained["output"]


def test_loss_is_parsed_into_the_charts_and_goes_down_on_a_fixed_batch(trained):
    db, run = trained["db"], trained["run"]
    rows = db.conn.execute("SELECT step, value FROM metrics WHERE job_id=? AND name='loss' ORDER BY step",
                           (run["job_id"],)).fetchall()
    assert [r[0] for r in rows] == list(range(1, 2 * STEPS + 1))
    stage1 = [r[1] for r in rows[:STEPS]]
    assert all(b < a for a, b in zip(stage1, stage1[1:], strict=False)), stage1
    names = {r[0] for r in db.conn.execute("SELECT DISTINCT name FROM metrics WHERE job_id=?", (run["job_id"],))}
    assert {"loss", "learning_rate", "grad_norm", "tokens_per_s", "eta_s"} <= names
    assert run["loss_first"] == pytest.approx(stage1[0], rel=1e-4)


def test_merged_model_is_converted_quantised_and_registered_with_lineage(trained):
    from backend.llm.catalog import list_local_models
    from backend.llm.gguf_info import read_gguf_info
    from backend.train.export import file_sha256, model_lineage
    from backend.train.runs import get_run

    gguf: Path = trained["gguf"]
    assert gguf is not None and gguf.parent == trained["root"] / "models"
    info = read_gguf_info(gguf)
    assert info.quantization == "Q8_0" and info.architecture == "llama"
    assert not list(gguf.parent.glob("*.partial"))
    assert str(gguf) in [m.path for m in list_local_models(trained["root"])]
    lineage = model_lineage(trained["db"], gguf)
    run = get_run(trained["db"], trained["run_id"])
    assert lineage == run["lineage"]
    assert lineage["base"] == "embedded" and lineage["data_source"] == "all"
    assert lineage["samples"] == sum(s["samples"] for s in trained["summary"])
    assert lineage["final_loss"] == run["loss_last"] and lineage["run_id"] == run["id"]
    assert lineage["gguf_sha256"] == file_sha256(gguf)
    assert lineage["recipe"]["learning_rate"] == 2e-3
    assert json.loads(Path(run["merged_path"], "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]


def test_the_result_answers_in_chat(trained):
    from backend.llm.base import GenerationSettings
    from backend.llm.resolve import get_backend

    backend = get_backend(str(trained["gguf"]))
    text = "".join(backend.stream([{"role": "user", "content": "What is a residual connection?"}],
                                  GenerationSettings(max_tokens=24, temperature=0.0)))
    assert len(text.strip()) > 0


def test_deepqa_runs_on_base_and_trained_model(trained):
    from backend.train import evaluate

    if not evaluate.scorer_available():
        pytest.skip("the Bench area's DeepQA scorer (backend.bench.loglik) has not landed")
    result = evaluate.before_after(trained["db"], trained["run_id"], limit=10)
    assert result["base"]["n"] == result["trained"]["n"] == 10
    assert result["base"]["sha256"] != result["trained"]["sha256"]
    for label in ("base", "trained"):
        assert 0.0 <= result[label]["acc"] <= 1.0


def test_use_as_designer_sets_the_default(trained):
    from backend.settings import load_settings
    from backend.train.export import use_as_designer

    use_as_designer(trained["gguf"], trained["root"])
    assert load_settings(trained["root"]).designer_model == str(trained["gguf"])
