#!/usr/bin/env bash
# Every benchmark in tests/benchmarks/, one after another under a machine-wide lock, each line of
# output next to the load average it ran at. Benchmarks compare against a baseline from the same
# run and exit 1 on a miss; run them on a quiet machine (load under 1.5) for figures worth quoting.
# Usage: scripts/run_benchmarks.sh [NAME ...]   e.g. scripts/run_benchmarks.sh bench_bench bench_train
# bench_bench starts a Ray head: it runs inside a private network namespace with only loopback.
# Extra arguments for one benchmark: BENCH_ARGS_bench_data="--samples 1000000"
set -uo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(bench_startup bench_jobs bench_design bench_chat bench_traces bench_bench bench_train bench_data bench_check bench_map)
python=${PYTHON:-python}
status=0
for name in "${names[@]}"; do
  var="BENCH_ARGS_$name"
  # shellcheck disable=SC2206
  args=(${!var:-})
  echo "=== $name ${args[*]} — $(date -u +%H:%M:%S), uptime: $(uptime | sed 's/.*load/load/') ==="
  cmd=("$python" "tests/benchmarks/$name.py" "${args[@]}")
  if [ "$name" = bench_bench ] && command -v unshare >/dev/null; then
    if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
    cmd=("${ns[@]}" -- bash -c 'ip link set lo up && exec "$@"' bash "${cmd[@]}")
  fi
  flock /tmp/deepones-bench.lock "${cmd[@]}"
  rc=$?
  [ $rc -ne 0 ] && status=1
  echo "=== $name: exit $rc — $(date -u +%H:%M:%S), uptime: $(uptime | sed 's/.*load/load/') ==="
done
exit $status
