#!/usr/bin/env bash
# Install the desktop entry, icon and .gguf file type for the current user (Linux, freedesktop).
# The same as `deepones install-desktop`; kept for the bundle, where it is run from the folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/deepones" ]; then exec "$here/deepones" install-desktop "$@"; fi
exec deepones install-desktop "$@"
