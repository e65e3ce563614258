"""Execution-environment detection and creation, on real interpreters and real venvs."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from backend import envs


def _venv_with_torch(path: Path) -> Path:
    """A real venv that sees this interpreter's torch through a .pth file (nothing downloaded)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    torch_site = Path(importlib.util.find_spec("torch").origin).parents[1]
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "app-torch.pth").write_text(str(torch_site) + "\n", "utf-8")
    return path / "bin" / "python"


def test_detection_finds_a_venv_with_torch_and_reports_it(tmp_path, monkeypatch):
    import torch

    home = tmp_path / "home"
    monkeypatch.setenv("PYENV_ROOT", str(home / ".pyenv"))  # only this test's interpreters are probed
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.delenv("CONDA_EXE", raising=False)
    python = _venv_with_torch(home / ".venvs" / "ml")
    found = envs.detect(home=home)
    ours = [e for e in found if e.python == str(python)]
    assert len(ours) == 1, [e.python for e in found]
    env = ours[0]
    assert env.kind == "venv" and env.name == "venv: ml"
    assert env.torch == importlib.metadata.version("torch")
    assert env.cuda is torch.cuda.is_available()
    assert env.version == ".".join(map(str, sys.version_info[:3]))
    assert "torch" in env.label
    # Environments with torch are listed before those without.
    with_torch = [e.torch is not None for e in found]
    assert with_torch == sorted(with_torch, reverse=True)


def test_a_broken_interpreter_is_reported_not_raised(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'boom: broken install' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = envs.probe(envs.Environment(str(fake), "venv", "broken"))
    assert env.torch is None and "boom" in env.error


def _tiny_wheel(folder: Path) -> Path:
    """A real, minimal wheel made by hand (pip installs it offline)."""
    name, version = "deepones_tinypkg", "1.0"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record_name = f"{name}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    files[record_name] = "\n".join(lines + [f"{record_name},,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def test_create_environment_installs_packages_with_a_progress_log(tmp_path):
    wheel = _tiny_wheel(tmp_path)
    lines: list[str] = []
    env = envs.create_environment(tmp_path / "made", ["--no-index", str(wheel)], on_line=lines.append)
    assert Path(env.python).exists() and env.kind == "venv" and env.torch is None and env.error == ""
    out = subprocess.run([env.python, "-c", "import deepones_tinypkg; print(deepones_tinypkg.VALUE)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "42"
    assert any("-m venv" in line for line in lines)
    assert any("deepones_tinypkg" in line for line in lines if not line.startswith("$"))


def test_create_environment_cancel_removes_the_half_made_folder(tmp_path):
    cancel = threading.Event()
    target = tmp_path / "cancelled"

    def on_line(line: str) -> None:
        if line.startswith("$ ") and "-m venv" in line:
            cancel.set()  # cancel as soon as the first step starts

    with pytest.raises(envs.EnvironmentCreationError, match="cancelled"):
        envs.create_environment(target, ["--no-index", "nothing-to-find"], on_line=on_line, cancel=cancel)
    assert not target.exists()


def test_create_environment_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(envs.EnvironmentCreationError, match="not empty"):
        envs.create_environment(tmp_path / "taken", [])
