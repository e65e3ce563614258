"""Train offers the [train] extra with one click when the execution environment lacks it: a real venv that
has torch but not transformers/peft, pip's log in the page, and a hint that works from a source checkout."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.test_environments import _tiny_wheel

pytest.importorskip("PySide6")


def _venv_with_torch_and_pip(path: Path) -> Path:
    """A venv (no pip of its own) that sees this interpreter's torch and pip, and nothing else of it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    links = path / "borrowed"
    links.mkdir()
    for name in ("torch", "pip"):
        (links / name).symlink_to(Path(importlib.util.find_spec(name).origin).parent)
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "borrowed.pth").write_text(str(links) + "\n", "utf-8")
    return path / "bin" / "python"


def test_hint_names_the_checkout_install():
    from backend.train.launch import install_hint, source_checkout, train_extra_requirements

    root = source_checkout()
    assert root is not None and (root / "pyproject.toml").is_file()
    hint = install_hint("/env/bin/python", ["transformers", "peft"])
    assert f"cd {root} && /env/bin/python -m pip install '.[train]'" in hint
    assert any(r.startswith("transformers") for r in train_extra_requirements())


def test_missing_extra_is_offered_and_installed_with_pips_log(qtbot, tmp_path, monkeypatch):
    from backend.train import launch
    from deepones_gui.workspaces.train.extra_install import TrainExtraInstall

    python = _venv_with_torch_and_pip(tmp_path / "env")
    row = TrainExtraInstall()
    qtbot.addWidget(row)
    row.check(str(python))
    qtbot.waitUntil(lambda: row.missing != [], timeout=30_000)
    assert row.missing == ["transformers", "peft"] and row.isVisibleTo(row.parentWidget() or row)
    assert "transformers, peft" in row.message.text() and row.install_button.isEnabled()
    # No package index here: the extra's list becomes a local wheel; the install path itself is real pip.
    monkeypatch.setattr(
        launch, "train_extra_requirements", lambda: ["--no-index", str(_tiny_wheel(tmp_path))]
    )
    row.install_button.click()
    assert row.cancel_button.isEnabled() and not row.install_button.isEnabled()
    qtbot.waitUntil(lambda: row._stop is None, timeout=120_000)
    log = row.log.toPlainText()
    assert "-m pip install" in log and "Successfully installed deepones-tinypkg" in log, log
    assert "Still missing: transformers, peft" in log  # honest: the wheel was not the extra

    with qtbot.waitSignal(row.ready, timeout=30_000):
        row.check(sys.executable)  # the app's own environment has the extra: the row goes away
    assert row.isHidden()
