#!/usr/bin/env bash
# Build the Linux desktop bundle from a clean venv (DEEPONES_DIST_DIR, default dist/):
#   dist/deepones/                                   the one-folder app (run dist/deepones/deepones)
#   dist/deepones-VERSION-linux-x86_64.tar.gz        the same folder, packed
# llama.cpp is compiled for any x86-64 CPU (GGML_NATIVE=OFF, CPU variants loaded at run time); the
# compiled wheel is cached in $DEEPONES_BUILD_CACHE (default ~/.cache/deepones-build), since that
# build takes a quarter of an hour on two cores. No torch: jobs run in their own environment.
# DEEPONES_LLAMA_FROM=PYTHON takes that interpreter's installed llama-cpp-python instead (quick mode).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${DEEPONES_BUILD_DIR:-$root/build/bundle}
dist=${DEEPONES_DIST_DIR:-$root/dist}
cache=${DEEPONES_BUILD_CACHE:-$HOME/.cache/deepones-build}
llama_version=${LLAMA_CPP_VERSION:-0.3.36}
python=${PYTHON:-python3}
version=$("$python" -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")

mkdir -p "$build" "$cache"
rm -rf "$build/venv"
"$python" -m venv "$build/venv"
pip="$build/venv/bin/python -m pip"
$pip install --quiet --upgrade pip

if [ -n "${DEEPONES_LLAMA_FROM:-}" ]; then
  # Quick mode (the test suite's slow tier): the llama.cpp that interpreter already has, copied as
  # installed. Such a build may be tied to this CPU (GGML_NATIVE): for checking, never for shipping.
  site=$("$build/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  "$DEEPONES_LLAMA_FROM" packaging/copy_installed.py llama-cpp-python "$site"
  "$build/venv/bin/python" -m pip install --quiet "typing-extensions>=4.5" "numpy>=1.20" "diskcache>=5.6.1" "jinja2>=2.11.3"
else
  wheel=$(ls "$cache"/llama_cpp_python-"$llama_version"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    echo "Compiling llama.cpp $llama_version for any x86-64 CPU (cached for later builds)…"
    start=$SECONDS
    bash packaging/build_llama_any_cpu.sh "$llama_version" "$cache" "$python"
    echo "Compiled llama.cpp for any x86-64 CPU in $((SECONDS - start)) s"
    wheel=$(ls "$cache"/llama_cpp_python-"$llama_version"-*.whl | head -n 1)
  fi
  $pip install --quiet "$wheel"
fi

"$build/venv/bin/python" - > "$build/requirements.txt" <<'PY'
import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.split(";")[0].strip().startswith(("torch", "llama-cpp-python"))))
PY
$pip install --quiet -r "$build/requirements.txt" "pyinstaller>=6.10"
$pip install --quiet --no-deps "$root"

rm -rf "$dist/deepones"
"$build/venv/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$dist" --workpath "$build/pyinstaller" \
  packaging/deepones.spec
cp packaging/install_desktop_entry.sh "$dist/deepones/install-desktop-entry.sh"
tarball="$dist/deepones-$version-linux-x86_64.tar.gz"
tar -C "$dist" -czf "$tarball" deepones
echo "Bundle: $dist/deepones ($(du -sh "$dist/deepones" | cut -f1)), $tarball ($(du -sh "$tarball" | cut -f1))"
