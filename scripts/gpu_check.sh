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

echo "== model worker with GPU offload (llama.cpp in its worker process; canary and safe mode)"
$py - <<'PY'
from backend.llm.base import GenerationSettings, complete
from backend.llm.memory import gpu_offload_supported
from backend.llm.resolve import get_backend
from backend.llm.worker import safe_mode

b = get_backend("embedded")
answer = complete(b, [{"role": "user", "content": "Name one CNN"}], GenerationSettings(max_tokens=16, temperature=0))
print("llama.cpp GPU offload supported:", gpu_offload_supported())
print("worker load:", b.worker.spec, "answer:", repr(answer))
print("safe mode:", safe_mode.report())
print("doctor canary:", safe_mode.doctor_canary())
PY
