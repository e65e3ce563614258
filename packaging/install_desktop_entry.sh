#!/usr/bin/env bash
# Install the desktop entry and icon for the current user (Linux, freedesktop).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$here/resources/deepones.desktop" "$apps/deepones.desktop"
cp "$here/resources/icons/deepones.svg" "$icons/deepones.svg"
echo "Installed $apps/deepones.desktop"
