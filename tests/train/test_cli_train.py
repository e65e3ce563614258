"""One real training run end to end: `deepones train` fine-tunes SmolLM2 for two steps (train tier)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.conftest import needs_training

# In the train tier: a real fine-tune takes ~35 s alone and over a minute beside another test (xdist).
pytestmark = [needs_training, pytest.mark.train, pytest.mark.timeout(600)]


def test_cli_train_json_line(deepones_home):
    from backend.datasets.demo import ensure_demo
    from backend.store import open_store

    db = open_store(deepones_home)
    ensure_demo(db)
    db.conn.close()
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run([sys.executable, "-m", "deepones_gui", "train", "--data", "kind=instruction,dlpd",
                          "--max-steps", "1", "--max-seq-len", "48", "--batch-size", "1", "--quantize", "none",
                          "--json"], capture_output=True, text=True, env=env, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"run_id", "status", "steps", "loss_first", "loss_last", "adapter_path", "gguf_path",
                           "quantization"}
    assert result["status"] == "succeeded" and result["steps"] == 2 and result["gguf_path"] is None
    assert Path(result["adapter_path"], "adapter_config.json").is_file()
