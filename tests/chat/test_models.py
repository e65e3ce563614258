"""Model manager backend: GGUF metadata, memory/offload estimates, quantisation, the HF cache, offline pulls."""

from __future__ import annotations

import pytest

from backend.llm.base import BackendError, GenerationSettings, complete
from backend.llm.gguf_info import read_gguf_info
from backend.llm.memory import estimate_memory, suggest_gpu_layers
from tests.chat.conftest import write_tiny_gguf


def test_smollm2_metadata(smollm2):
    info = read_gguf_info(smollm2)
    assert (info.architecture, info.quantization, info.context_length, info.layers) == ("llama", "Q4_1", 8192, 30)
    assert 130e6 < info.parameters < 140e6 and info.parameters_label == "135M"
    assert info.has_chat_template and "im_start" in info.chat_template
    assert info.size_bytes == smollm2.stat().st_size


def test_memory_estimate_and_gpu_offload_suggestion(smollm2):
    info = read_gguf_info(smollm2)
    est = estimate_memory(info, 8192)
    # 30 layers x 8192 tokens x 3 kv heads x (64 + 64) x 2 bytes
    assert est.kv_cache_bytes == 30 * 8192 * 3 * 128 * 2
    assert est.weights_bytes == info.size_bytes and est.total_bytes > est.weights_bytes + est.kv_cache_bytes
    assert suggest_gpu_layers(info, 8192, free_bytes=80 * 2**30, gpu_name="H200").layers == 31
    part = suggest_gpu_layers(info, 8192, free_bytes=300 * 2**20, gpu_name="small")
    assert 0 < part.layers < 31 and "of 31 layers" in part.reason
    assert suggest_gpu_layers(info, 8192, free_bytes=60 * 2**20).layers == 0


def test_quantise_real_gguf_and_validate_by_loading(smollm2, tmp_path):
    from backend.llm.quantize import quantize_model
    from backend.llm.resolve import get_backend

    steps = []
    out = tmp_path / "smollm2.Q8_0.gguf"
    info = quantize_model(smollm2, out, "Q8_0", progress=lambda f, t: steps.append(f))
    assert info.quantization == "Q8_0" and out.exists() and not (tmp_path / "smollm2.Q8_0.gguf.partial").exists()
    assert steps[-1] == 1.0 and any(0.3 < f < 0.9 for f in steps)  # per-tensor progress came through
    text = complete(get_backend(str(out)), [{"role": "user", "content": "Hi"}],
                    GenerationSettings(temperature=0, max_tokens=4, context_size=256))
    assert text
    with pytest.raises(BackendError, match="already exists"):
        quantize_model(smollm2, out, "Q8_0")
    with pytest.raises(BackendError, match="Unknown quantisation type"):
        quantize_model(smollm2, tmp_path / "x.gguf", "Q3_XYZ")


def test_hf_cache_discovery_offline(hf_cache, monkeypatch):
    from huggingface_hub import constants, hf_hub_download, scan_cache_dir

    from backend.llm.catalog import find_local_model, hf_cache_models
    from backend.llm.hub import HubError, pull

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cache = hf_cache["cache"]
    # huggingface_hub itself recognises the layout ...
    scanned = scan_cache_dir(cache)
    assert [r.repo_id for r in scanned.repos] == [hf_cache["repo_id"]] and not scanned.warnings
    assert hf_hub_download(hf_cache["repo_id"], hf_cache["filename"], cache_dir=cache) == str(hf_cache["pointer"])
    # ... and so does the model list.
    found = hf_cache_models(cache)
    assert len(found) == 1
    m = found[0]
    assert (m.source, m.repo_id, m.revision) == ("hf-cache", hf_cache["repo_id"], hf_cache["commit"])
    assert m.name == f"{hf_cache['repo_id']}/{hf_cache['filename']}" and m.path == str(hf_cache["pointer"])
    assert read_gguf_info(m.path).name == "tiny-test"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    assert find_local_model(m.name).path == m.path
    # Pulling something already cached works offline and downloads nothing; anything else says "Offline".
    assert pull(hf_cache["repo_id"], "*.gguf", cache_dir=cache) == [hf_cache["pointer"]]
    with pytest.raises(HubError, match="Offline"):
        pull("someone/Other-GGUF", "*Q4_K_M.gguf", cache_dir=cache)


def test_delete_hf_cache_model_removes_link_and_blob(hf_cache):
    from backend.llm.catalog import delete_local_model, hf_cache_models

    (m,) = hf_cache_models(hf_cache["cache"])
    delete_local_model(m)
    assert not hf_cache["pointer"].exists() and not hf_cache["blob"].exists()
    assert hf_cache_models(hf_cache["cache"]) == []


def test_data_dir_models_are_listed(deepones_home):
    from backend import paths
    from backend.llm.catalog import list_local_models

    target = paths.models_dir(deepones_home)
    target.mkdir(parents=True)
    write_tiny_gguf(target / "mine.gguf")
    models = list_local_models(deepones_home, cache_dir=deepones_home / "no-cache")
    assert [m.source for m in models] == ["embedded", "local"]
    assert models[1].spec == str(target / "mine.gguf")


def test_pull_progress_adapter_reports_and_cancels():
    from backend.llm.hub import PullCancelled, _progress_tqdm

    seen = []

    class Token:
        flag = False

        def __bool__(self):
            return self.flag

    token = Token()
    bar = _progress_tqdm(seen.append, token)(total=100, unit="B")
    bar.update(40)
    token.flag = True
    with pytest.raises(PullCancelled):
        bar.update(10)
    assert seen == [40]


def test_sizes_are_written_one_way_decimal_megabytes():
    from backend.units import format_bytes

    assert format_bytes(98_312_448) == "98.3 MB"         # the embedded SmolLM2 (MB = 10^6 bytes)
    assert format_bytes(1_500) == "1.50 kB" and format_bytes(999) == "999 B"
    assert format_bytes(8_539_000_000) == "8.54 GB" and format_bytes(141_000_000_000) == "141 GB"
    assert format_bytes(99_960_000) == "100 MB"          # rounding never prints "100.0"
    assert format_bytes(None) == "–"


def test_cli_prints_model_sizes_like_the_gui(smollm2):
    from click.testing import CliRunner

    from backend.cli import cli
    from backend.units import format_bytes

    expected = format_bytes(smollm2.stat().st_size)
    listed = CliRunner().invoke(cli, ["model", "list"])
    assert listed.exit_code == 0 and expected in listed.output and "MiB" not in listed.output
    info = CliRunner().invoke(cli, ["model", "info", "embedded"])
    assert info.exit_code == 0 and f"size             {expected}" in info.output


def test_deleting_a_default_model_resets_it_to_embedded(deepones_home):
    from backend import paths
    from backend.llm.catalog import list_local_models
    from backend.llm.model_removal import delete_model, find_deletable
    from backend.settings import Settings, load_settings

    mine = paths.models_dir(deepones_home) / "mine.gguf"
    mine.parent.mkdir(parents=True)
    write_tiny_gguf(mine)
    settings = Settings(designer_model=str(mine), programmer_model="embedded")
    reset = delete_model(find_deletable("mine.gguf", deepones_home), settings, deepones_home)
    assert reset == ["designer"] and not mine.exists()
    assert settings.designer_model == "embedded" and load_settings(deepones_home).designer_model == "embedded"
    assert [m.source for m in list_local_models(deepones_home, cache_dir=deepones_home / "none")] == ["embedded"]
    with pytest.raises(BackendError, match="cannot be deleted"):
        delete_model(find_deletable("embedded", deepones_home), settings, deepones_home)


def test_cli_model_delete_resets_defaults_and_refuses_unknown_names(deepones_home):
    from click.testing import CliRunner

    from backend import paths
    from backend.cli import cli
    from backend.settings import Settings, load_settings, save_settings

    mine = paths.models_dir(deepones_home) / "mine.gguf"
    mine.parent.mkdir(parents=True)
    write_tiny_gguf(mine)
    save_settings(Settings(designer_model=str(mine), programmer_model=str(mine)), deepones_home)
    declined = CliRunner().invoke(cli, ["model", "delete", "mine.gguf"], input="n\n")
    assert declined.exit_code == 1 and mine.exists()
    done = CliRunner().invoke(cli, ["model", "delete", "mine.gguf", "--yes"])
    assert done.exit_code == 0, done.output
    assert not mine.exists() and "default designer was this model" in done.output
    s = load_settings(deepones_home)
    assert (s.designer_model, s.programmer_model) == ("embedded", "embedded")
    unknown = CliRunner().invoke(cli, ["model", "delete", "nothing-like-it", "--yes"])
    assert unknown.exit_code == 2 and "No local model" in unknown.output and "Traceback" not in unknown.output
