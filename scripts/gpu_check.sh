#!/usr/bin/env bash
# Checks that need an NVIDIA GPU (run by hand on such a machine; CI has none):
# doctor sees the GPU through torch and NVML, a sandboxed job gets the GPU it asked for and
# records NVML readings, and the GPU tests that skip elsewhere pass.
#   OUT=/tmp/gpu-check bash scripts/gpu_check.sh
set -u
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}
export DEEPONES_HOME
DEEPONES_HOME=$(mktemp -d)
export PYTHONUNBUFFERED=1

echo "== doctor"
$py -m deepones_gui doctor --json > "$out/doctor.json"
echo "doctor rc=$?"
$py - "$out/doctor.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
print("torch:", rep["torch"])
print("nvidia:", rep["nvidia"]["status"], [g["name"] for g in rep["nvidia"]["gpus"]])
PY

echo "== sandboxed CUDA job"
probe=$(mktemp -d)/gpu_probe.py
cat > "$probe" <<'PY'
import os
import torch
print("CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", "?"), flush=True)
assert torch.cuda.is_available(), "no CUDA in the job"
x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for step in range(1, 41):
    y = x @ x
    torch.cuda.synchronize()
    print(f"step={step} loss={float(y.float().abs().mean()):.4f}", flush=True)
import time; time.sleep(3)
open("metric.log", "w").write(str(torch.cuda.device_count()))
PY
$py -m deepones_gui run --gpu 0 --time-limit 300 --name gpu-probe "$probe" | tail -n 3 | tee "$out/run.txt"
job=$($py -c "import json,sys; print(json.loads(open('$out/run.txt').read().strip().splitlines()[-1])['job_id'])")
echo "gpu readings recorded: $(wc -l < "$DEEPONES_HOME/jobs/$job/gpu.jsonl" 2>/dev/null || echo 0)"
head -n 2 "$DEEPONES_HOME/jobs/$job/gpu.jsonl" 2>/dev/null

echo "== GPU tests (Qt-free ones)"
$py -m pytest -q -p no:cacheprovider tests/jobs/test_gpu.py -k "not panel" 2>&1 | tail -n 15

echo "== built-in trainer on CUDA (Train): SmolLM2 from the embedded GGUF, both stages, then Q8_0"
$py -m deepones_gui data import "$($py -c 'from backend.datasets.demo import demo_path; print(demo_path())')" --dataset "DeepData demo" | tail -n 1
$py -m deepones_gui train --base embedded --data all --device cuda --gpu 0 --max-steps 30 --max-seq-len 256 \
    --batch-size 8 --quantize Q8_0 --json 2>"$out/train.err" | tail -n 1 | tee "$out/train.json"
$py - "$out/train.json" "$DEEPONES_HOME" <<'PY'
import json, pathlib, sys
res = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("train:", res["status"], "steps", res["steps"], "loss", res["loss_first"], "->", res["loss_last"], res["gguf_path"])
jobs = sorted(pathlib.Path(sys.argv[2], "jobs").iterdir())
log = (jobs[-1] / "stdout.log").read_text()
assert " on cuda" in log, "the trainer did not run on the GPU"
rates = [json.loads(line)["tokens_per_s"] for line in log.splitlines() if line.startswith('{"step"')]
print("tokens/s on the GPU (last):", rates[-1])
assert res["status"] == "succeeded" and res["gguf_path"]
PY
