"""A replayed demo sweep: two designers and one programmer whose answers are recorded (``replay:``).

The programs are real and run as jobs; they need only the standard library. Their final runs take
their score from a counter in ``$DEEPONES_DATA/counter.txt``, so with one run at a time the n-th run
of a sweep (in row order) scores ``SCORES[n % 3]`` and diverges when ``n % 4 == 3``, and its first
debug step also fails (ModuleNotFoundError) when n is odd. A diverged final run gets the debug loop:
its one remaining attempt (the demo sweeps allow 3) diverges again, so that run still fails. Used by the README screenshots and by
the tests, which compute the expected tables from these rules by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

SCORES = (0.9, 0.7, 0.8)

IMPLEMENT = 'raise ValueError("the input width is wrong")\n'
DEBUG_1 = '''\
import os, pathlib
counter = pathlib.Path(os.environ["DEEPONES_DATA"]) / "counter.txt"
n = int(counter.read_text() or 0) if counter.exists() else 0
if n % 2 == 1:
    import deepones_no_such_module  # noqa: F401
open("metric.log", "w").write("0.5")
'''
WORKING = f'''\
import os, pathlib, time
if os.environ.get("DEEPONES_STAGE") == "validate":
    open("metric.log", "w").write("0.5")
    raise SystemExit(0)
counter = pathlib.Path(os.environ["DEEPONES_DATA"]) / "counter.txt"
n = int(counter.read_text() or 0) if counter.exists() else 0
counter.write_text(str(n + 1))
if n >= int(os.environ.get("BENCH_TEST_SLEEP_FROM", "0")):   # tests: let the first runs finish, then stall
    time.sleep(float(os.environ.get("BENCH_TEST_SLEEP", "0")))
print(f"final run {{n}}", flush=True)
if n % 4 == 3:
    raise RuntimeError("diverged")
open("metric.log", "w").write(str({SCORES!r}[n % 3]))
'''
# The diverged final run's fix attempt: it runs as a final run and diverges again (the counter untouched,
# so later runs keep their numbers).
FINAL_FIX = 'raise RuntimeError("diverged again")\n'
DESIGNER_A = [
    "Backbone: MLP\nOne possible model is a multilayer perceptron: two dense layers suit 8x8 digits.",
    "Improvement: dropout\nOne possible improvement is dropout after the hidden layer.\n\n```python\nx = 1\n```",
    "learning rate: 0.01\nbatch size: 64\nepochs: 5",
]
DESIGNER_B = [
    "A small convolutional neural network (CNN) will do; ResNet blocks are overkill for 8x8 images.",
    "Train it with mixed precision and a cosine schedule.\n\n```python\ny = 2\n```",
    "learning rate: 0.001\nepochs: 3",
]


def _fenced(code: str) -> str:
    return f"Here is the program:\n\n```python\n{code}```\n"


def expected_run(n: int) -> dict:
    """What run number n (0-based, in row order) does under the rules above."""
    failed = n % 4 == 3
    return {"score": None if failed else SCORES[n % 3], "success": 0 if failed else 1,
            "error_types": ["ValueError"] + (["ModuleNotFoundError"] if n % 2 == 1 else [])
            + (["RuntimeError"] if failed else [])}   # the diverged final's fix diverged too


def write_demo_replays(folder: Path) -> dict[str, str]:
    """Write the replay files into ``folder``; returns their model specs by role."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    programmer = [_fenced(IMPLEMENT), _fenced(DEBUG_1), _fenced(WORKING), _fenced(WORKING), _fenced(FINAL_FIX)]
    specs = {}
    for name, lines in (("designer_a", DESIGNER_A), ("designer_b", DESIGNER_B), ("programmer", programmer)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"content": c}) + "\n" for c in lines), "utf-8")
        specs[name] = f"replay:{path}"
    return specs
