#!/usr/bin/env bash
# The test tiers beyond the README's fast one (see README "Tests"), each a separate pytest run:
#   slow    repeated cases at full size, the bundle built from this venv's llama.cpp
#   train   fine-tuning and GGUF conversion with torch/transformers/peft
#   ray     a real local Ray cluster, inside a private network namespace with only loopback
#           (Ray listens on all interfaces whatever it is told): `unshare --net`, as root or
#           through an unprivileged user namespace
#   bundle  llama.cpp compiled for every x86-64 CPU (cached in ~/.cache/deepones-build) and the
#           desktop bundle from it; 25+ minutes on two cores the first time
# Usage: scripts/test_tiers.sh [TIER ...]   (default: slow train ray; add bundle explicitly)
# Extra pytest arguments: PYTEST_ARGS="-x -k name" scripts/test_tiers.sh ray
set -uo pipefail
cd "$(dirname "$0")/.."
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(slow train ray)
python=${PYTHON:-python}
failed=()
for tier in "${tiers[@]}"; do
  echo "=== tier: $tier ($(date -u +%H:%M:%S), load: $(cut -d' ' -f1-3 /proc/loadavg)) ==="
  start=$SECONDS
  # shellcheck disable=SC2086
  # -n 0: one process (the fast tier's two xdist workers would start two Ray clusters, two fine-tunes).
  cmd=("$python" -m pytest -n 0 -m "$tier" ${PYTEST_ARGS:-})
  if [ "$tier" = ray ]; then
    if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
    "${ns[@]}" -- bash -c 'ip link set lo up && exec "$@"' bash "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
  rc=$?
  # pytest's 5 means no test selected (a tier with nothing to run on this machine): not a failure.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then failed+=("$tier"); fi
  echo "=== tier $tier: exit $rc in $((SECONDS - start)) s ==="
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "failed tiers: ${failed[*]}"
  exit 1
fi
