#!/usr/bin/env bash
# System packages the tests use (Debian/Ubuntu names): a headless Chromium for the HTML exports,
# the freedesktop validators, Xvfb and Qt's xcb libraries for real-window tests and screenshots,
# bubblewrap and iproute2 for confinement and private network namespaces. .ci/run calls this as
# root; tests never install anything and skip, with the reason, where a package is missing.
set -euo pipefail
packages=(chromium desktop-file-utils appstream xvfb imagemagick iproute2 bubblewrap
          libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
          libxcb-randr0 libxcb-render-util0 libxcb-image0 libegl1 libgl1)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system_packages.sh: not root or no apt-get; install these yourself: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system_packages.sh: installed ${missing[*]}"
