"""Execution environments: the Python interpreters that can run jobs and training on this machine.

The app itself may be a frozen bundle without torch; programs it runs need a Python with the
packages they import (torch, usually with CUDA). This module finds candidates (conda environments,
venvs, pyenv versions, system Pythons), asks each in a child process what it has, and creates a
new venv with a progress log and Cancel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.errors import UserError

PROBE = r"""
import json, platform, sys
info = {"python": platform.python_version(), "executable": sys.executable, "prefix": sys.prefix}
try:
    import torch
    info["torch"] = torch.__version__
    info["cuda"] = bool(torch.cuda.is_available())
    info["cuda_version"] = torch.version.cuda
    info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if info["cuda"] else []
except Exception as exc:  # not installed, or broken: both are facts to report
    info["torch"] = None
    info["torch_error"] = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ImportError) else ""
print(json.dumps(info))
"""


@dataclass
class Environment:
    python: str                  # the interpreter's path
    kind: str                    # conda | venv | pyenv | system | app
    name: str
    version: str = ""
    torch: str | None = None
    cuda: bool = False
    cuda_version: str | None = None
    gpus: list | None = None
    error: str = ""              # why probing failed, or torch's import error

    @property
    def label(self) -> str:
        torch = f"torch {self.torch}" + (" + CUDA" if self.cuda else " (CPU)") if self.torch else "no torch"
        return f"{self.name} — Python {self.version or '?'}, {torch}"

    def to_dict(self) -> dict:
        return asdict(self)


def _python_in(prefix: Path) -> Path | None:
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        candidate = prefix / rel
        if candidate.exists():
            return candidate
    return None


def _conda_roots(home: Path) -> list[Path]:
    roots = [home / d for d in ("miniconda3", "anaconda3", "miniforge3", "mambaforge", ".conda")]
    for var in ("CONDA_PREFIX", "CONDA_EXE"):
        value = os.environ.get(var)
        if value:
            path = Path(value)
            roots.append(path.parents[1] if var == "CONDA_EXE" else path)
    return roots


def candidates(home: Path | None = None, extra_dirs: Iterable[Path] = ()) -> list[Environment]:
    """Interpreters found on this machine (not yet probed), without duplicates."""
    home = Path(home or Path.home())
    found: list[Environment] = []
    for root in _conda_roots(home):
        if (root / "conda-meta").exists() and (py := _python_in(root)):
            found.append(Environment(str(py), "conda", f"conda: {root.name}"))
        for env in sorted((root / "envs").glob("*")) if (root / "envs").is_dir() else []:
            if py := _python_in(env):
                found.append(Environment(str(py), "conda", f"conda: {env.name}"))
    for parent in (home / ".virtualenvs", home / "venvs", home / ".venvs", *extra_dirs):
        for env in sorted(Path(parent).glob("*")) if Path(parent).is_dir() else []:
            if (env / "pyvenv.cfg").exists() and (py := _python_in(env)):
                found.append(Environment(str(py), "venv", f"venv: {env.name}"))
        if (Path(parent) / "pyvenv.cfg").exists() and (py := _python_in(Path(parent))):
            found.append(Environment(str(py), "venv", f"venv: {Path(parent).name}"))
    pyenv = Path(os.environ.get("PYENV_ROOT", home / ".pyenv")) / "versions"
    for version in sorted(pyenv.glob("*")) if pyenv.is_dir() else []:
        if py := _python_in(version):
            found.append(Environment(str(py), "pyenv", f"pyenv: {version.name}"))
    for system in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(system).exists():
            found.append(Environment(system, "system", f"system: {system}"))
    if not getattr(sys, "frozen", False):
        found.append(Environment(sys.executable, "app", "this app's Python"))
    unique: dict[str, Environment] = {}
    for env in found:
        key = os.path.realpath(env.python) if env.kind not in ("venv", "app") else env.python
        unique.setdefault(key, env)
    return list(unique.values())


def probe(env: Environment, timeout: float = 120.0) -> Environment:
    """Fill in the interpreter's Python and torch versions and CUDA availability (in a child)."""
    try:
        out = subprocess.run([env.python, "-c", PROBE], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        env.error = f"could not run it: {exc}"
        return env
    if out.returncode != 0:
        env.error = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        return env
    info = json.loads(out.stdout.strip().splitlines()[-1])
    env.version, env.torch = info["python"], info.get("torch")
    env.cuda, env.cuda_version, env.gpus = bool(info.get("cuda")), info.get("cuda_version"), info.get("gpus") or []
    env.error = info.get("torch_error", "")
    return env


def detect(home: Path | None = None, extra_dirs: Iterable[Path] = (), workers: int = 4) -> list[Environment]:
    """Every candidate, probed in parallel; ones with torch (CUDA first) sort first."""
    envs = candidates(home, extra_dirs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        envs = list(pool.map(probe, envs))
    return sorted(envs, key=lambda e: (e.torch is None, not e.cuda, e.kind == "system", e.name))


def gpu_present() -> bool:
    """Whether an NVIDIA GPU is visible, without torch (for choosing CPU or CUDA wheels)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()


def torch_install_args(cuda: bool | None = None) -> list[str]:
    """pip arguments that install torch: the CPU wheels where no NVIDIA GPU is present."""
    cuda = gpu_present() if cuda is None else cuda
    return ["torch"] if cuda else ["torch", "--index-url", "https://download.pytorch.org/whl/cpu"]


class EnvironmentCreationError(UserError, RuntimeError):
    """Creating the environment failed or was cancelled; ``str(exc)`` is for the user."""


def create_environment(path: Path, pip_args: list[str], *, base_python: str | None = None,
                       on_line: Callable[[str], None] | None = None,
                       cancel: threading.Event | None = None) -> Environment:
    """``python -m venv path`` then ``pip install <pip_args>``, streaming output lines; returns it probed.

    Cancel stops the running step and removes the half-made environment.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise EnvironmentCreationError(f"{path} already exists and is not empty: choose a new folder")
    base = base_python or (shutil.which("python3") if getattr(sys, "frozen", False) else sys.executable)
    if not base:
        raise EnvironmentCreationError("no python3 found to create the environment with")
    steps = [[base, "-m", "venv", str(path)]]
    if pip_args:
        steps.append([str(path / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off", *pip_args])
    try:
        for argv in steps:
            _run_streaming(argv, on_line, cancel)
    except EnvironmentCreationError:
        shutil.rmtree(path, ignore_errors=True)
        raise
    env = probe(Environment(str(path / "bin" / "python"), "venv", f"venv: {path.name}"))
    return env


def install_packages(python: str, pip_args: list[str], *, on_line: Callable[[str], None] | None = None,
                     cancel: threading.Event | None = None) -> None:
    """``python -m pip install <pip_args>`` into an existing environment, streaming pip's lines (Cancel stops it)."""
    _run_streaming([python, "-m", "pip", "install", "--progress-bar", "off", *pip_args], on_line, cancel)


def _run_streaming(argv: list[str], on_line: Callable[[str], None] | None, cancel: threading.Event | None) -> None:
    (on_line or (lambda _line: None))("$ " + " ".join(argv))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    stopper = threading.Thread(target=_stop_on_cancel, args=(proc, cancel), daemon=True)
    stopper.start()
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail = (tail + [line])[-5:]
        if on_line:
            on_line(line)
    code = proc.wait()
    if cancel is not None and cancel.is_set():
        raise EnvironmentCreationError("cancelled")
    if code != 0:
        raise EnvironmentCreationError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} failed (exit {code}): "
                                       + (tail[-1] if tail else ""))


def _stop_on_cancel(proc: subprocess.Popen, cancel: threading.Event | None) -> None:
    if cancel is None:
        return
    while proc.poll() is None:
        if cancel.wait(0.2):
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
            return
