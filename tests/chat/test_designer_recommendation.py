"""A real designer one click away: the machine's RAM/VRAM/disk pick a hub GGUF that fits, the wizard and
Models show it with its size and a Pull button, and Pull downloads it — from a loopback stand-in of the
hub's file layout (tests/hub_standin.py), never the internet."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.llm.recommend import CATALOGUE, GB, Machine, recommend
from tests.chat.conftest import write_tiny_gguf
from tests.hub_standin import hub_standin


def test_recommendation_is_sized_to_the_machine():
    gpu8 = recommend(
        Machine(ram_bytes=16 * GB, gpu_name="RTX 4060", vram_bytes=8 * 2**30, disk_free_bytes=100 * GB)
    )
    assert gpu8.model.parameters == "7B" and "Q4_K_M" in gpu8.model.label and gpu8.fits_disk
    assert "RTX 4060" in gpu8.reason
    big = recommend(
        Machine(ram_bytes=64 * GB, gpu_name="H100", vram_bytes=80 * 2**30, disk_free_bytes=100 * GB)
    )
    assert big.model is CATALOGUE[0]
    cpu = recommend(Machine(ram_bytes=8 * GB, gpu_name="", vram_bytes=0, disk_free_bytes=100 * GB))
    assert cpu.model.parameters == "1.5B" and "CPU" in cpu.reason
    small_gpu = recommend(
        Machine(ram_bytes=16 * GB, gpu_name="MX150", vram_bytes=2 * 2**30, disk_free_bytes=100 * GB)
    )
    assert small_gpu.model.parameters == "1.5B" and "too small" in small_gpu.reason
    full_disk = recommend(Machine(ram_bytes=16 * GB, gpu_name="", vram_bytes=0, disk_free_bytes=200 * 10**6))
    assert not full_disk.fits_disk and "free on disk" in full_disk.reason
    tiny = recommend(Machine(ram_bytes=1 * GB, gpu_name="", vram_bytes=0, disk_free_bytes=100 * GB))
    assert tiny.model is None and "endpoint" in tiny.reason
    assert (
        "RAM" in gpu8.machine.text() and "VRAM" in gpu8.machine.text() and "free disk" in gpu8.machine.text()
    )


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return cache


def test_wizard_recommends_a_real_model_and_pulls_it_from_the_hub_standin(
    qtbot, app_context, hub_cache, tmp_path, monkeypatch
):
    from deepones_gui.wizard import ModelsPage

    page = ModelsPage(app_context)
    qtbot.addWidget(page)
    page.resize(760, 560)
    page.show()
    box = page.recommendation
    qtbot.waitUntil(lambda: box.recommendation is not None, timeout=20_000)
    rec = box.recommendation
    model = rec["model"]
    assert model is not None, rec["reason"]  # this machine has the RAM for at least the CPU choice
    assert model["label"] in box.model.text() and "Qwen2.5-Coder" in model["label"]
    assert " GB download" in box.model.text() or " MB download" in box.model.text()
    assert "RAM" in box.machine.text() and "free disk" in box.machine.text()
    assert box.pull_button.isEnabled() and box.pull_button.text().startswith("Pull ")
    assert "not a useful designer" in page.demo_warning.text()  # the default embedded designer

    # The hub stand-in holds the recommended file (a small real GGUF under the real name).
    served = write_tiny_gguf(tmp_path / "served.gguf", name="served-designer")
    with hub_standin(
        {model["repo_id"]: {model["filename"]: served, "README.md": tmp_path / "served.gguf"}}
    ) as (url, requests):
        monkeypatch.setenv("HF_ENDPOINT", url)
        box.pull_button.click()
        assert box.cancel_button.isEnabled() and not box.pull_button.isEnabled()
        qtbot.waitUntil(lambda: box._task is None, timeout=30_000)
    assert "Downloaded" in box.status.text(), box.status.text()
    spec = page.spec(page.designer)
    assert spec.endswith(model["filename"]) and str(hub_cache) in spec
    assert Path(spec).read_bytes() == served.read_bytes()
    assert not page.demo_warning.isVisible()  # the pulled model is no demo model
    assert any(r.startswith("GET /api/models/") for r in requests)
    assert any("/resolve/" in r and r.endswith(model["filename"]) for r in requests)
    assert not any("README" in r and "resolve" in r for r in requests)  # only the one file is pulled


def test_pull_of_an_unknown_repo_says_so_in_one_line(qtbot, hub_cache, monkeypatch, tmp_path):
    from backend.llm.hub import HubError, pull

    with hub_standin({}) as (url, _requests):
        monkeypatch.setenv("HF_ENDPOINT", url)
        with pytest.raises(HubError, match="was not found"):
            pull("nobody/Nothing-GGUF", "*.gguf")
