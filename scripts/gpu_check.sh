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
echo "== Bench: a Ray job that asks for a GPU (entrypoint_num_gpus=1) on a local GPU head"
if $py -c "import ray.job_submission" 2>/dev/null; then
  rport=$($py -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  rdash=$($py -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  ray_bin=$(dirname "$(command -v $py)")/ray
  "$ray_bin" start --head --num-cpus 2 --num-gpus 1 --port "$rport" --dashboard-port "$rdash" \
    --dashboard-host 127.0.0.1 --include-dashboard true --node-ip-address 127.0.0.1 --temp-dir "/tmp/rg$rport" \
    --disable-usage-stats > "$out/ray_start.txt" 2>&1
  $py - "http://127.0.0.1:$rdash" "$probe" <<'PY' 2>&1 | tail -n 8 | tee "$out/ray_gpu.txt"
import sys
from pathlib import Path
from backend.bench.ray_cluster import RaySettings, cluster_resources
from backend.bench.ray_executor import RayExecutor
from backend.jobs.spec import JobSpec
address, probe = sys.argv[1], Path(sys.argv[2])
print("cluster resources:", cluster_resources(address))
settings = RaySettings(address=address, python=sys.executable, num_gpus=1)
spec = JobSpec(argv=["gpu_probe.py"], interpreter=sys.executable, files={"gpu_probe.py": probe.read_text()}, gpu="0")
result = RayExecutor(settings=settings).run(spec)
print("ray gpu job:", result.status, "score(device count)=", result.score)
print((result.workdir / "stdout.log").read_text().splitlines()[0])
# The second GPU run goes to the standby job the first one started (it holds the GPU meanwhile).
from backend.bench import ray_standby_pool
from backend.bench.ray_cluster import _client
from backend.jobs.runner import read_status
print("standby ready:", ray_standby_pool.wait_ready(_client(address), 120))
again = RayExecutor(settings=settings).run(spec)
print("ray gpu job via standby:", again.status, "standby:", read_status(again.workdir).get("ray_standby"),
      "score(device count)=", again.score)
print("standbys stopped:", ray_standby_pool.stop_all())
PY
  "$ray_bin" stop > /dev/null 2>&1
else
  echo "ray not installed: pip install '.[ray]'"
fi
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
echo "== design check on CUDA (Ideation): the ResNet-18 program, allocator peak at the task's batch"
$py -m deepones_gui design check tests/ideation/programs/resnet18.py --task image-classification --device cuda \
    --batch-size 128 --json 2>"$out/check.err" | tail -n 1 | tee "$out/check.json"
$py -m pytest -q -p no:cacheprovider -m gpu tests/ideation 2>&1 | tail -n 5
echo "== generation through a GPU model (Generate): the fixture paper, the embedded GGUF (layers offloaded to the detected GPU by default)"
$py -m deepones_gui generate run tests/generate/fixtures/hcrbounds \
    --model embedded --dataset gpu-check --mcq-share 1.0 --json 2>"$out/generate.err" | tail -n 1 | tee "$out/generate.json"
