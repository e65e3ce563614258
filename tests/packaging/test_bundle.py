"""Build the desktop bundle and use it with the development venv out of PATH.

Two builds, two tiers:

* ``slow``: the bundle from the llama.cpp this venv already compiled (copied as installed), which
  proves PyInstaller, the frozen children, the embedded model and the CLI in a few minutes;
* ``bundle``: the shipped build, llama.cpp compiled for every x86-64 CPU (run-time CPU variants),
  cached in ``$DEEPONES_BUILD_CACHE`` (default ``~/.cache/deepones-build`` of the real user) since
  that compile takes 25+ minutes on two cores; the time is printed when it compiles.

Both write into temp folders: nothing lands in the repository.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.timeout(5400)]


def _build_cache() -> str:
    # The tests' HOME is a temp folder; this cache must outlive the session (the compile is long).
    real_home = pwd.getpwuid(os.getuid()).pw_dir
    return os.environ.get("DEEPONES_BUILD_CACHE") or os.path.join(real_home, ".cache", "deepones-build")


def _clean_env(home: Path) -> dict[str, str]:
    # Nothing of the development venv: no VIRTUAL_ENV, no PYTHONPATH, a PATH of system folders only.
    keep = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM"}}
    return {**keep, "PATH": "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "DEEPONES_HOME": str(home),
            "QT_QPA_PLATFORM": "offscreen", "DEEPONES_NO_WIZARD": "1",
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}


@pytest.fixture(scope="module", params=[pytest.param("venv-llama", marks=pytest.mark.slow),
                                        pytest.param("any-cpu", marks=pytest.mark.bundle)])
def bundle(request, tmp_path_factory) -> Path:
    if sys.platform != "linux":
        pytest.skip("the desktop bundle is built for Linux")
    build = tmp_path_factory.mktemp("bundle-build")
    dist = tmp_path_factory.mktemp("bundle-dist")
    env = {**os.environ, "DEEPONES_BUILD_DIR": str(build), "DEEPONES_DIST_DIR": str(dist),
           "DEEPONES_BUILD_CACHE": _build_cache()}
    env.pop("VIRTUAL_ENV", None)
    if request.param == "venv-llama":
        env["DEEPONES_LLAMA_FROM"] = sys.executable
    start = time.monotonic()
    out = subprocess.run(["bash", str(ROOT / "packaging" / "build_linux.sh")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=5000)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    print(f"bundle ({request.param}) built in {time.monotonic() - start:.0f} s; {out.stdout.strip()[-400:]}")
    assert (dist / "deepones" / "deepones").exists()
    assert list(dist.glob("deepones-*-linux-x86_64.tar.gz"))
    shutil.rmtree(build, ignore_errors=True)
    return dist / "deepones" / "deepones"


def _run(exe: Path, *args: str, home: Path, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], env={**_clean_env(home), **kw.pop("env", {})}, cwd=home,
                          capture_output=True, text=True, timeout=timeout, **kw)


def test_bundle_has_no_torch_and_stays_small(bundle):
    internal = bundle.parent / "_internal"
    assert not (internal / "torch").exists()
    # Real bytes on disk: PyInstaller links some libraries into place, and a link is not a copy.
    size = sum(p.lstat().st_size for p in bundle.parent.rglob("*") if p.is_file() and not p.is_symlink())
    # PySide6, pyarrow, scipy, the 98 MB model, and since the Data map UMAP's numba + llvmlite
    # (~210 MB, llvmlite's LLVM alone 160 MB stripped); no torch. Was 750 MB before the map.
    assert size < 1000e6, f"{size / 1e6:.0f} MB"


def test_version_and_doctor_from_the_bundle(bundle, tmp_path, request):
    out = _run(bundle, "--version", home=tmp_path)
    assert out.returncode == 0 and "deepones" in out.stdout.lower(), out.stderr
    out = _run(bundle, "doctor", "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    embedded = json.dumps(report).lower()
    assert str(bundle.parent) in embedded and ".gguf" in embedded  # the model inside the bundle
    variant = report["llama_cpp"].get("cpu_variant") or ""
    assert variant and not variant.startswith("unknown"), report["llama_cpp"]
    if request.node.callspec.params["bundle"] == "any-cpu":
        # A run-time CPU variant (x64, sse42, haswell, zen4, ...), not a build tied to one CPU.
        assert not variant.startswith("native"), report["llama_cpp"]


def test_chat_answers_with_the_embedded_model(bundle, tmp_path):
    out = _run(bundle, "chat", "hi", "--max-tokens", "8", home=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip()


def test_window_starts_and_shows_the_overview(bundle, tmp_path):
    # The probe takes the launcher's steps inside the frozen app (``deepones --python SCRIPT``).
    out = _run(bundle, "--python", str(ROOT / "tests" / "benchmarks" / "startup_probe.py"), home=tmp_path,
               timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHOWN" in out.stdout and "READY" in out.stdout, out.stdout
    assert "overview" in out.stdout.lower()


def test_a_job_runs_through_the_bundled_supervisor(bundle, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("print('loss=0.5 step=1')\nopen('metric.log', 'w').write('0.75')\n")
    out = _run(bundle, "run", "--interpreter", "/usr/bin/python3", str(prog), home=tmp_path, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "succeeded" in (out.stdout + out.stderr).lower()
