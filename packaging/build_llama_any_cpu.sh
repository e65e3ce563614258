#!/usr/bin/env bash
# Build a llama-cpp-python wheel that runs on any x86-64 CPU: GGML_NATIVE=OFF, the CPU backend as
# run-time-loaded variants (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS; ggml picks the best one for
# the CPU it starts on). llama-cpp-python's CMakeLists installs only a target named ggml-cpu, which
# the variant build does not have, so the sdist is patched to install every x86 variant library.
# Usage: build_llama_any_cpu.sh VERSION OUT_DIR [PYTHON]
set -euo pipefail
version=$1
out=$2
python=${3:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --no-binary llama-cpp-python "llama-cpp-python==$version" -d "$work"
tar -C "$work" -xzf "$work"/llama_cpp_python-"$version".tar.gz
src="$work/llama_cpp_python-$version"
cat >> "$src/CMakeLists.txt" <<'CMAKE'

# DeepOnes packaging: install the run-time CPU variants built by GGML_CPU_ALL_VARIANTS.
if (LLAMA_BUILD)
    foreach(variant x64 sse42 sandybridge ivybridge piledriver haswell skylakex cannonlake cascadelake
                    icelake cooperlake zen4 alderlake sapphirerapids)
        llama_cpp_python_install_target(ggml-cpu-${variant})
    endforeach()
endif()
CMAKE
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  "$python" -m pip wheel --no-deps --no-cache-dir "$src" -w "$out"
