#!/usr/bin/env bash
# Register the built PSG Lens (this folder) with the desktop for the current user:
# the menu entry, the icon, and .edf/.bdf files opening in PSG Lens.
#   ./install-desktop-entry.sh            install
#   ./install-desktop-entry.sh --remove   undo it
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications" mime="$data/mime" icons="$data/icons/hicolor/512x512/apps"

if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/psg-lens.desktop" "$mime/packages/psg-lens.xml" "$icons/psg-lens.png"
else
  [ -x "$here/psg-lens-gui" ] || { echo "psg-lens-gui is not in $here: run this from dist/psg-lens." >&2; exit 1; }
  mkdir -p "$apps" "$mime/packages" "$icons"
  # the menu entry starts this very build, wherever the folder was unpacked
  sed -e "s|^Exec=psg-lens-gui|Exec=\"$here/psg-lens-gui\"|" \
      -e "s|^TryExec=psg-lens-gui|TryExec=$here/psg-lens-gui|" \
      "$here/share/psg-lens.desktop" > "$apps/psg-lens.desktop"
  cp "$here/share/psg-lens-mime.xml" "$mime/packages/psg-lens.xml"
  cp "$here/share/psg-lens.png" "$icons/psg-lens.png"
fi
command -v update-mime-database >/dev/null && update-mime-database "$mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
if [ "${1:-}" != "--remove" ]; then
  command -v xdg-mime >/dev/null && xdg-mime default psg-lens.desktop application/x-edf application/x-bdf || true
  echo "PSG Lens is in the applications menu; .edf and .bdf files open with it."
fi
