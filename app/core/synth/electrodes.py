"""Where each source shows up: a gain per electrode and source (the field at the electrode).

The synthesiser makes the potential of every ELECTRODE against a quiet ideal reference;
a channel is the difference of two electrodes (C4 - M1, Fpz - Cz, E1 - M2, Chin1 - Chin2)
or an electrode against the amplifier's unnamed common reference. So bipolar, mastoid,
ipsilateral-ear and referential montages all come out of one night, with the cancellation
real derivations have (a K-complex is smaller on Fpz-Cz than on F4-M1; blinks dominate
frontopolar leads; the ECG is largest against a mastoid).

Rows for F, C and O electrodes against a quiet reference reproduce the calibrated
mastoid-referenced derivations (frontal delta and K-complex maximum, central spindles and
vertex waves, occipital alpha: AASM Manual v2.6 scoring rationale, Silber et al. 2007).
"""

from __future__ import annotations

import numpy as np

# Columns of the table. Background band profiles (multipliers of the stage band rms),
# then event sources, then artefact sources.
COLUMNS = ("bg", "delta", "theta", "sigma", "beta",        # local background profile
           "alpha", "spindle", "kcomplex", "vertex", "sawtooth",  # cortical events
           "blink", "heye",                                # vertical / horizontal eye
           "shared", "ecg", "muscle")                      # shared EEG, ECG and muscle pickup
_COL = {c: i for i, c in enumerate(COLUMNS)}
# band -> profile column (the slow 1/f^2.5 part follows delta: it is frontal too)
BAND_PROFILE = [0, 1, 1, 2, 3, 4]

_F = [1.0, 1.25, 1.0, 0.8, 1.1, 0.35, 0.8, 1.0, 0.8, 0.7, 0.25, 0.0, 1.0, 0.003, 0.25]
_C = [1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 1.0, 0.85, 1.0, 1.0, 0.05, 0.0, 1.0, 0.003, 0.1]
_P = [1.0, 0.8, 0.9, 0.8, 0.95, 0.8, 0.75, 0.6, 0.7, 0.75, 0.0, 0.0, 1.0, 0.003, 0.1]
_O = [1.0, 0.7, 0.8, 0.6, 0.9, 1.0, 0.45, 0.45, 0.4, 0.5, 0.0, 0.0, 1.0, 0.004, 0.4]
_T = [1.0, 0.8, 0.9, 0.6, 1.1, 0.5, 0.5, 0.5, 0.4, 0.4, 0.05, 0.15, 0.9, 0.008, 1.0]
_FP = [0.9, 1.2, 0.9, 0.6, 1.1, 0.2, 0.35, 1.25, 0.3, 0.5, 0.9, 0.1, 1.0, 0.003, 0.8]
_F7 = [1.0, 1.15, 0.9, 0.6, 1.1, 0.3, 0.5, 0.9, 0.5, 0.5, 0.35, 0.3, 0.95, 0.004, 0.9]
_EYE = [0.5, 0.85, 0.5, 0.3, 0.5, 0.1, 0.25, 0.6, 0.3, 0.3, 0.0, 1.0, 0.6, 0.004, 0.9]
_MASTOID = [0.25, 0.25, 0.25, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.02, 0.05, 0.2, 0.02, 0.5]


def _row(base: list[float], **changes: float) -> np.ndarray:
    r = np.array(base, dtype=np.float64)
    for k, v in changes.items():
        r[_COL[k]] = v
    return r


# Potential at each electrode vs a quiet reference. Left-hand sites see a horizontal eye
# movement with the sign of E1, right-hand ones with the sign of E2.
ELECTRODES: dict[str, np.ndarray] = {
    "Fp1": _row(_FP, heye=0.15), "Fp2": _row(_FP, heye=-0.15), "Fpz": _row(_FP),
    "F7": _row(_F7), "F8": _row(_F7, heye=-0.3),
    "F3": _row(_F), "F4": _row(_F), "Fz": _row(_F, kcomplex=1.05),
    "C3": _row(_C), "C4": _row(_C), "Cz": _row(_C, spindle=1.05, kcomplex=0.8, vertex=1.1,
                                               alpha=0.5, blink=0.08),
    "T3": _row(_T), "T4": _row(_T, heye=-0.15),
    "P3": _row(_P), "P4": _row(_P), "Pz": _row(_P),
    "T5": _row(_T, alpha=0.8, heye=0.05), "T6": _row(_T, alpha=0.8, heye=-0.05),
    "O1": _row(_O), "O2": _row(_O), "Oz": _row(_O),
    "M1": _row(_MASTOID), "M2": _row(_MASTOID, heye=-0.05, ecg=0.012),
    # AASM E1 1 cm below the left outer canthus, E2 1 cm above the right one: vertical
    # movements and blinks have opposite signs on them, as horizontal ones do.
    "E1": _row(_EYE, blink=-0.6), "E2": _row(_EYE, blink=1.0, heye=-1.0),
    # outer canthi at eye level (Sleep-EDF "EOG horizontal" = LOC - ROC)
    "LOC": _row(_EYE, blink=0.3, heye=0.8), "ROC": _row(_EYE, blink=0.0, heye=-0.8),
}
ALIASES = {"A1": "M1", "A2": "M2", "T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
# How strongly the local oscillation at each electrode keeps the phase of the common one
# (1 = one generator everywhere). Alpha and spindles have several generators, so they do
# not cancel in neighbouring bipolar pairs such as Pz-Oz (Sleep-EDF shows alpha there).
COHERENCE = {"alpha": 0.5, "spindle": 0.85, "kcomplex": 0.95, "vertex": 0.95, "sawtooth": 0.8}
CHIN_SITES = ("Chin1", "Chin2", "Chin3")
# Neighbouring electrodes share a regional background, so a bipolar pair of neighbours
# (Fp1-Fpz, C4-P4) is smaller than a lead against a distant reference.
REGION_PROFILE = {"anterior": _F, "central": _C, "posterior": _O}


def region(electrode: str) -> str | None:
    """anterior, central or posterior; None for the mastoids (no cortex under them)."""
    name = ALIASES.get(electrode, electrode)
    if name in ("M1", "M2"):
        return None
    if name[:1] in ("F", "E") or name in ("LOC", "ROC"):
        return "anterior"
    if name[:1] in ("P", "O") or name in ("T5", "T6"):
        return "posterior"
    return "central"


def row(electrode: str) -> np.ndarray:
    """The gain row of an electrode (aliases such as A1 -> M1 resolved)."""
    name = ALIASES.get(electrode, electrode)
    try:
        return ELECTRODES[name]
    except KeyError:
        raise ValueError(f"No synthetic field for electrode {electrode!r}; known: "
                         f"{', '.join(ELECTRODES)}.") from None


def gain(electrode: str, column: str) -> float:
    """An electrode's gain for one source column."""
    return float(row(electrode)[_COL[column]])


def derivation_gain(plus: str, minus: str | None, column: str) -> float:
    """|gain(plus) - gain(minus)|: how large a coherent source is on ``plus - minus``."""
    g = gain(plus, column) if plus in ELECTRODES or plus in ALIASES else 0.0
    if minus and (minus in ELECTRODES or minus in ALIASES):
        g -= gain(minus, column)
    return abs(g)


def is_scalp(electrode: str) -> bool:
    return electrode in ELECTRODES or electrode in ALIASES
