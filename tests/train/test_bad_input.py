"""Bad input: a one-line reason (CLI: exit code 2, no traceback) and nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.train.launch import TrainError, prepare_run
from backend.train.recipe import paper_recipe


def _deepones(*args: str, home: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "DEEPONES_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def _no_runs(db) -> bool:
    return db.conn.execute("SELECT count(*) FROM train_runs").fetchone()[0] == 0


def test_empty_selection_is_refused(demo_store, deepones_home):
    with pytest.raises(TrainError, match="no samples for any stage"):
        prepare_run(demo_store, base="embedded", data_source="kind=mcq", recipe=paper_recipe(), root=deepones_home)
    assert _no_runs(demo_store)
    assert not (deepones_home / "train" / "runs").exists() or not any((deepones_home / "train" / "runs").iterdir())


def test_base_that_is_not_a_model(demo_store, deepones_home, tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    for base, why in ((str(tmp_path / "folder"), "not a Hugging Face model"),
                      (str(tmp_path / "notes.txt"), "neither a model folder nor a .gguf"),
                      ("nobody/never-downloaded", "neither a model folder, a hub id in the Hugging Face cache")):
        with pytest.raises(TrainError, match=why):
            prepare_run(demo_store, base=base, data_source="all", recipe=paper_recipe(), root=deepones_home)
    assert _no_runs(demo_store)


def test_environment_without_transformers(demo_store, deepones_home, tmp_path):
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    with pytest.raises(TrainError, match=r"lacks .*transformers.*peft.*pip install"):
        prepare_run(demo_store, base="embedded", data_source="all", recipe=paper_recipe(), root=deepones_home,
                    interpreter=str(bare / "bin" / "python"))
    assert _no_runs(demo_store)


def test_no_disk_space_for_the_merged_model(demo_store, deepones_home, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(TrainError, match="not enough disk space .* merged model"):
        prepare_run(demo_store, base="embedded", data_source="all", recipe=paper_recipe(), root=deepones_home)
    assert _no_runs(demo_store)


def test_llamafactory_missing_says_how_to_install(demo_store, deepones_home, tmp_path):
    from tests.train.test_llamafactory import tiny_llama

    recipe = paper_recipe()
    recipe.trainer = "llamafactory"
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    with pytest.raises(TrainError, match="LLaMA-Factory is not installed .* pip install llamafactory"):
        prepare_run(demo_store, base=str(tiny_llama()), data_source="all", recipe=recipe,
                    root=deepones_home, interpreter=str(bare / "bin" / "python"))
    recipe_gguf = paper_recipe()
    recipe_gguf.trainer = "llamafactory"
    with pytest.raises(TrainError, match="LLaMA-Factory trains Hugging Face models"):
        prepare_run(demo_store, base="embedded", data_source="all", recipe=recipe_gguf, root=deepones_home)


def test_cli_bad_input_is_one_line_with_exit_code_2(deepones_home, tmp_path):
    bad_recipe = tmp_path / "r.json"
    bad_recipe.write_text(json.dumps({"learning_rate": 7}))
    for args, why in ((["train", "--data", "colour=red"], "not a filter term"),
                      (["train", "--data", "all", "--base", str(tmp_path)], "not a Hugging Face model"),
                      (["train", "--data", "all", "--recipe", str(bad_recipe)], "learning rate must be"),
                      (["model", "convert", str(tmp_path), str(tmp_path / "o.gguf")], "config.json")):
        out = _deepones(*args, home=deepones_home)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr and why in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_conversion_refuses_an_unsupported_architecture(tmp_path):
    from backend.train.convert import ConvertError, convert_to_gguf, ensure_converter

    ensure_converter()
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["NoSuchNetForCausalLM"]}))
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    out = tmp_path / "odd.gguf"
    with pytest.raises(ConvertError, match="does not support the NoSuchNetForCausalLM architecture"):
        convert_to_gguf(folder, out)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
