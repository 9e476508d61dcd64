#!/usr/bin/env bash
# Install PSG Lens and everything it needs on a fresh Debian/Ubuntu machine.
#   ./scripts/install.sh          the app (CPU torch if none is installed)
#   ./scripts/install.sh --dev    the app + test tools (pytest, pytest-qt, yasa, ...) and
#                                 PyInstaller for the standalone build (build_installer.spec)
set -euo pipefail
cd "$(dirname "$0")/.."

# System libraries Qt needs even offscreen (present on most desktops already).
QT_LIBS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0"
# Qt's xcb platform plugin (the window on an X11 display): what libqxcb.so links to,
# missing on desktop-less installs (without them: "Could not load the Qt platform plugin")
QT_LIBS="$QT_LIBS libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
  libxcb-util1 libxcb-xfixes0 libxcb-xkb1"
# --dev: PyInstaller reads shared-library dependencies with objdump (binutils); the
# tests start the real window on a virtual X display (xvfb, xauth)
if [ "${1:-}" = "--dev" ]; then QT_LIBS="$QT_LIBS binutils xvfb xauth"; fi
missing=""
for p in $QT_LIBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing
fi

PY=${PYTHON:-python3}
# torch first: 2.13.0 is the CPU build this project is tested with; keep a GPU build if
# one is already installed.
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q "torch==2.13.0"
if [ "${1:-}" = "--dev" ]; then
  $PY -m pip install -q -e ".[test,train,installer,yasa]"
else
  $PY -m pip install -q -e ".[yasa]"
fi
