#!/usr/bin/env bash
# Build every wheel needed to install DeepOnes Studio offline into dist/wheelhouse/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/wheelhouse
mkdir -p "$out"
python -m pip wheel . --wheel-dir "$out"
echo "Wheelhouse ready: $out ($(ls "$out" | wc -l) wheels)"
echo "Install with: pip install --no-index --find-links $out deepones-studio"
