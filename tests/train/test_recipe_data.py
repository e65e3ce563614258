"""Recipes (paper defaults, files, bad values) and stage data (filters, files, replay, counts)."""

from __future__ import annotations

import json

import pytest

from backend.train import data as train_data
from backend.train.recipe import Recipe, RecipeError, load_recipe, paper_recipe


def test_paper_recipe_has_the_papers_values():
    r = paper_recipe()
    assert [s.name for s in r.stages] == ["instruction", "dlpd"]
    assert r.stages[0].kinds == ["instruction"] and r.stages[1].kinds == ["dlpd"]
    assert r.stages[1].replay_from == "instruction" and r.stages[1].replay_share == 0.01
    assert [s.epochs for s in r.stages] == [2.0, 2.0] and [s.batch_size for s in r.stages] == [16, 4]
    assert (r.learning_rate, r.schedule, r.warmup_ratio, r.optimizer) == (3e-4, "cosine", 0.01, "adam-mini")
    assert r.lora.loraplus_lr_ratio > 0


def test_recipe_files_round_trip_and_reject_bad_values(tmp_path):
    r = paper_recipe()
    r.learning_rate = 1e-3
    r.stages[0].epochs = 1
    path = tmp_path / "r.json"
    path.write_text(json.dumps(r.to_dict()))
    assert load_recipe(path) == r
    yaml_path = tmp_path / "r.yaml"
    yaml_path.write_text("learning_rate: 0.0005\nseed: 7\n")
    loaded = load_recipe(yaml_path)
    assert (loaded.learning_rate, loaded.seed, len(loaded.stages)) == (0.0005, 7, 2)
    with pytest.raises(RecipeError, match="unknown recipe setting"):
        Recipe.from_dict({"learnin_rate": 1})
    with pytest.raises(RecipeError, match="not an earlier stage"):
        Recipe.from_dict({"stages": [{"name": "a", "kinds": ["dlpd"], "replay_from": "b", "replay_share": 0.1}]})
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "missing.json")


def test_filter_text_round_trips_and_bad_terms_are_one_line():
    flt = train_data.parse_filter("kind=instruction,dlpd;status=accepted;q=residual network")
    assert flt.kinds == ("instruction", "dlpd") and flt.statuses == ("accepted",) and flt.query == "residual network"
    assert train_data.parse_filter(train_data.filter_to_text(flt)) == flt
    assert train_data.parse_filter("all").is_empty
    with pytest.raises(train_data.TrainDataError, match="not a filter term"):
        train_data.parse_filter("colour=red")


def test_demo_data_splits_into_both_stages_with_replay(demo_store):
    rows = train_data.select_rows("all", demo_store)
    stages = train_data.split_stages(rows, paper_recipe())
    first, second = stages
    n_instruction = sum(r["kind"] == "instruction" for r in rows)
    n_dlpd = sum(r["kind"] == "dlpd" for r in rows)
    assert first.size == n_instruction > 0
    # 1% of the instruction samples, but at least one: replay is never silently empty.
    assert second.replayed == max(1, round(n_instruction * 0.01))
    assert second.size == n_dlpd + second.replayed
    assert {id(r) for r in second.rows[n_dlpd:]} <= {id(r) for r in first.rows}
    assert train_data.empty_stage_warnings(stages) == []
    summary = train_data.stage_summary(stages)
    assert summary[1]["kinds"] == {"dlpd": n_dlpd, "replay": second.replayed}


def test_rejected_samples_never_train(demo_store):
    demo_store.conn.execute("UPDATE samples SET status='rejected' WHERE kind='dlpd'")
    stages = train_data.split_stages(train_data.select_rows("all", demo_store), paper_recipe())
    assert train_data.empty_stage_warnings(stages) == [
        "stage 'dlpd' has no samples of its own (only replayed ones): it is skipped"]
    assert stages[1].replayed == stages[1].size  # only the replay is left
    assert [s.name for s in train_data.check_trainable(stages)] == ["instruction"]
    with pytest.raises(train_data.TrainDataError, match="no samples for any stage"):
        train_data.check_trainable(train_data.split_stages(
            train_data.select_rows("kind=mcq", demo_store), paper_recipe()))


def test_stage_files_are_alpaca_with_a_llamafactory_entry(demo_store, tmp_path):
    stages = train_data.split_stages(train_data.select_rows("all", demo_store), paper_recipe())
    files = train_data.stage_files(stages)
    info = json.loads(files["dataset_info.json"])
    assert set(info) == {"deepones_instruction", "deepones_dlpd"}
    for name, entry in info.items():
        assert entry["file_name"] == f"{name}.json" and entry["formatting"] == "alpaca"
        records = json.loads(files[entry["file_name"]])
        assert records and all({"instruction", "input", "output"} <= set(r) for r in records)
    # An exported file is a data source too, and gives the same stages.
    out = tmp_path / "export.json"
    out.write_text(files["deepones_instruction.json"])
    from_file = train_data.select_rows(str(out), None)
    assert len(from_file) == stages[0].size and {r["kind"] for r in from_file} == {"instruction"}
    with pytest.raises(train_data.TrainDataError, match="no such data file"):
        train_data.select_rows(str(tmp_path / "nope.jsonl"), None)
