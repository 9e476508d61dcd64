"""The stage colours every picture of a hypnogram uses: the workstation's plots (through
:mod:`app.gui.theme` and the user's settings) and the PDF report.

Qt-free, so the core can draw with them; this is the only definition.

Examples
--------
>>> DEFAULT_STAGE_COLORS["REM"]
'#D55E00'
"""

from __future__ import annotations

# Okabe & Ito (2008) colour-blind-safe palette; unscored is neutral grey, never Wake's hue.
DEFAULT_STAGE_COLORS: dict[str, str] = {
    "W": "#E69F00",        # orange
    "N1": "#56B4E9",       # sky blue
    "N2": "#0072B2",       # blue
    "N3": "#009E73",       # bluish green
    "REM": "#D55E00",      # vermillion
    "Artifact": "#CC79A7",  # reddish purple
    "Unscored": "#9A9A9A",  # grey
}
