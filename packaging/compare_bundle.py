"""Print the desktop bundle's size and start-up time next to the pip-installed app's.

    python packaging/compare_bundle.py [--bundle dist/deepones] [--runs 3]

Size: the bundle folder against the pip install's own environment (its site-packages and
interpreter). Start-up: seconds from launch until the window is shown and until the first workspace
is ready (tests/benchmarks/startup_probe.py), offscreen, each in a fresh data folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = str(ROOT / "tests" / "benchmarks" / "startup_probe.py")


def folder_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def startup(argv: list[str], runs: int) -> tuple[float, float]:
    shown, ready = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "DEEPONES_HOME": home, "QT_QPA_PLATFORM": "offscreen",
                   "DEEPONES_NO_WIZARD": "1", "XDG_CONFIG_HOME": str(Path(home) / "config")}
            t0 = time.time()
            out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
            marks = {line.split()[0]: float(line.split()[1]) for line in out.stdout.splitlines()
                     if line.startswith(("SHOWN", "READY"))}
            if "SHOWN" not in marks or "READY" not in marks:
                raise SystemExit(f"{argv[0]} did not start: {out.stderr[-500:]}")
            shown.append(marks["SHOWN"] - t0)
            ready.append(marks["READY"] - t0)
    return statistics.median(shown), statistics.median(ready)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=str(ROOT / "dist" / "deepones"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bundle = Path(args.bundle)
    if not (bundle / "deepones").exists():
        raise SystemExit(f"no bundle at {bundle}: build it with bash packaging/build_linux.sh")
    # Every site-packages this interpreter sees (a venv with system site packages has two).
    sites = sorted({Path(p).resolve() for p in [*sys.path, sysconfig.get_paths()["purelib"]]
                    if p.endswith("site-packages") and Path(p).is_dir()})
    pip_bytes = sum(folder_bytes(site) for site in sites) + Path(sys.executable).resolve().stat().st_size
    print(f"size: bundle {folder_bytes(bundle) / 1e6:,.0f} MB (no torch); pip install's environment "
          f"{pip_bytes / 1e6:,.0f} MB (torch included; {', '.join(map(str, sites))})")
    b_shown, b_ready = startup([str(bundle / "deepones"), "--python", PROBE], args.runs)
    p_shown, p_ready = startup([sys.executable, PROBE], args.runs)
    print(f"start-up (median of {args.runs}): bundle shown {b_shown:.2f} s, ready {b_ready:.2f} s; "
          f"pip install shown {p_shown:.2f} s, ready {p_ready:.2f} s")


if __name__ == "__main__":
    main()
