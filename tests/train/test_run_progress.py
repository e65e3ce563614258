"""Train says what a run is doing and what really ran: the phase before the first step (loading the model,
tokenising), step n/N with ETA, ETA never charted as a metric, and the optimiser that ran in the lineage
(AdamW when adam-mini is missing, said so). The log lines are the built-in trainer's own wording."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

LOADING = "Loading base model /models/smol on cpu\n"
TOKENISING = "Tokenising 183 samples of stage 1 of 2 (instruction)\n"


def _metric(step: int, total: int) -> str:
    return (
        json.dumps(
            {
                "step": step,
                "loss": 1.5,
                "learning_rate": 3e-4,
                "grad_norm": 0.5,
                "tokens_per_s": 120.0,
                "eta_s": 95.0,
                "steps_total": total,
            }
        )
        + "\n"
    )


def test_phase_then_step_n_of_n_with_eta(tmp_path, qtbot):
    from backend.train.launch import latest_metrics
    from deepones_gui.workspaces.train.run_view import RunView

    log = tmp_path / "stdout.log"
    assert latest_metrics(tmp_path) == {}
    log.write_text(LOADING)
    assert latest_metrics(tmp_path) == {"phase": LOADING.strip()}
    log.write_text(LOADING + "Base model loaded in 4.2 s\n" + TOKENISING)
    assert latest_metrics(tmp_path)["phase"] == TOKENISING.strip()
    log.write_text(LOADING + TOKENISING + _metric(3, 12))
    live = latest_metrics(tmp_path)
    assert live["phase"] == "training" and live["step"] == 3 and live["steps_total"] == 12

    view = RunView()
    qtbot.addWidget(view)
    run = {
        "id": 1,
        "name": "demo",
        "status": "running",
        "trainer": "builtin",
        "base": {"spec": "embedded"},
        "data_source": "all",
        "data_summary": [],
        "job_ids": ["j1"],
        "recipe": {
            "trainer": "builtin",
            "optimizer": "adam-mini",
            "learning_rate": 3e-4,
            "schedule": "cosine",
            "lora": {"rank": 8, "alpha": 16},
            "max_seq_len": 512,
            "seed": 42,
        },
    }
    view.show_run(run, {})
    assert "starting the job" in view.header.text()
    view.show_run(run, {"phase": LOADING.strip()})
    assert "Loading base model" in view.header.text()
    view.show_run(run, latest_metrics(tmp_path))
    assert "step 3/12" in view.header.text() and "ETA 1m 35s" in view.header.text()


def test_eta_and_planned_steps_are_not_charted(qtbot):
    from deepones_gui.widgets.metric_chart import MetricChart

    chart = MetricChart()
    qtbot.addWidget(chart)
    for name in ("loss", "eta_s", "steps_total", "tokens_per_s"):
        chart.add_points("job", name, [1, 2], [0.5, 0.4])
    assert {name for _job, name in chart.series} == {"loss", "tokens_per_s"}


def test_lineage_records_the_optimiser_that_ran(store, tmp_path):
    from backend.train import runs
    from backend.train.export import lineage_for
    from backend.train.launch import finish_run

    recipe = {"optimizer": "adam-mini", "trainer": "builtin"}
    run_id = runs.create_run(
        store,
        name="r",
        trainer="builtin",
        base={"spec": "embedded", "path": "", "kind": "hf"},
        data_source="all",
        data_summary=[{"stage": "s", "samples": 3, "kinds": {}}],
        recipe=recipe,
    )
    runs.attach_job(store, run_id, "job1", str(tmp_path))
    (tmp_path / "result.json").write_text(
        json.dumps({"steps": 2, "loss_first": 2.0, "loss_last": 1.0, "optimizer": "AdamW"})
    )
    run = finish_run(store, run_id, "succeeded")
    assert run["lineage"]["optimizer"] == "AdamW"
    assert "asked for adam-mini, but AdamW ran" in run["lineage"]["optimizer_note"]
    from backend.train.launch import optimizer_record

    assert optimizer_record({"optimizer": "adamw"}, "AdamW with LoRA+ (ratio 16)") == {
        "optimizer": "AdamW with LoRA+ (ratio 16)"}   # the recipe's own choice: no note
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    lineage = lineage_for(run, gguf, "Q8_0")
    assert lineage["optimizer"] == "AdamW" and "not installed" in lineage["optimizer_note"]


def test_models_details_show_a_trained_models_lineage(qtbot, app_context):
    from backend import paths
    from backend.train.export import register_model
    from deepones_gui.workspaces.models.page import ModelManagerPage
    from tests.chat.conftest import write_tiny_gguf

    target = paths.models_dir(app_context.data_dir)
    target.mkdir(parents=True, exist_ok=True)
    gguf = write_tiny_gguf(target / "smol-deepones-run4.Q8_0.gguf")
    register_model(
        app_context.db,
        gguf,
        {
            "run_id": 4,
            "trainer": "builtin",
            "optimizer": "AdamW",
            "optimizer_note": "the recipe asked for adam-mini, but AdamW ran",
            "base": "embedded",
            "data_source": "status=accepted",
            "samples": 62,
            "steps": 12,
            "final_loss": 1.2345,
            "quantization": "Q8_0",
            "recipe": {"optimizer": "adam-mini"},
        },
    )
    page = ModelManagerPage(app_context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: len(page.rows) >= 2, timeout=20_000)
    row = next(i for i, (m, _info, _err) in enumerate(page.rows) if m["path"] == str(gguf))
    page.table.selectRow(row)
    label = page.fields["Lineage"]
    qtbot.waitUntil(lambda: "Training run #4" in label.text(), timeout=10_000)
    assert "AdamW" in label.text() and "62 samples" in label.text() and "final loss 1.2345" in label.text()
    assert label.isVisible()
    page.table.selectRow(0)  # the embedded model: no lineage row
    assert not label.isVisible()
