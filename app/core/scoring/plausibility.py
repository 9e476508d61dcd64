"""Could a night be staged like this? A model's whole hypnogram against real nights.

A model that misreads a recording (a montage, an amplifier or a person unlike anything it
was trained on) is often wrong the whole night through, and confidently: no wake in 8 h,
half the night REM. Such a hypnogram is unlike any real night, which is a warning a
technician can act on before accepting a single stage.

The limits lie just outside what 597 real expert-scored nights of at least 4 h show
(``../shared/data/hypnograms``: DOD-H and DOD-O with their five scorers each, Sleep-EDF
from 30 min before the first sleep epoch to 30 min after the last), measured once:

======  ==========  ==========
stage   real min    real max
======  ==========  ==========
W       1.7 %       83 %
N1      0.3 %       44 %
N2      7.0 %       79 %
N3      0 %         48 %
REM     0 %         35 %
======  ==========  ==========

Examples
--------
>>> import numpy as np
>>> implausible_night(np.r_[np.full(400, 3), np.full(560, 4)])[:60]
'The stages of this 8.0-h recording are unlike any of 597 rea'
>>> implausible_night(np.r_[np.zeros(100), np.full(700, 2), np.full(160, 4)])
''
"""

from __future__ import annotations

import numpy as np

from app.core.scoring.stages import STAGE_LABELS

#: Per stage (fraction of staged epochs): below ``low`` or above ``high`` is unlike a real night.
LIMITS = {"W": (0.01, None), "N1": (None, 0.50), "N2": (0.05, 0.85), "N3": (None, 0.50),
          "REM": (None, 0.40)}
REAL_NIGHTS = 597
MIN_HOURS = 4.0  # a nap or an excerpt may hold any mix of stages
AWAKE_NIGHT = 0.8  # wake share above which a night without N2 is still a real one


def implausible_night(stages: np.ndarray, epoch_sec: float = 30.0) -> str:
    """One sentence when a model's stages for a recording of at least 4 h lie outside
    every real night's stage mix ("" when they do not, or the recording is shorter)."""
    st = np.asarray(stages)
    st = st[(st >= 0) & (st < len(STAGE_LABELS))]
    hours = st.size * float(epoch_sec) / 3600.0
    if hours < MIN_HOURS:
        return ""
    share = np.bincount(st.astype(np.int64), minlength=len(STAGE_LABELS)) / st.size
    found = []
    for k, label in enumerate(STAGE_LABELS):
        low, high = LIMITS[label]
        if label == "N2" and share[0] >= AWAKE_NIGHT:
            low = None  # a patient who hardly slept: little N2 is no misreading
        if low is not None and share[k] < low:
            found.append(f"no {label}" if share[k] == 0 else
                         f"{label} {_percent(share[k])}, where real nights have at least "
                         f"{low:.0%}")
        elif high is not None and share[k] > high:
            found.append(f"{label} {_percent(share[k])}, where real nights have at most "
                         f"{high:.0%}")
    if not found:
        return ""
    return (f"The stages of this {hours:.1f}-h recording are unlike any of {REAL_NIGHTS} real "
            f"expert-scored nights ({'; '.join(found)}): the model may be misreading it; "
            "review the night before accepting its stages.")


def _percent(share: float) -> str:
    """A share as a percentage precise enough to differ from the limit beside it
    (0.9 % of wake reads "0.9%", not the "1%" it would round to)."""
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"
