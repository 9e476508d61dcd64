"""Body position from a position channel, given what its codes mean.

Position sensors store a number per sample, and what the numbers mean differs by vendor
and archive (no public source read for this project gives SHHS's or MESA's codes), so
PSG Lens never guesses: the technician gives the codes (``0=right,1=supine,2=left,
3=prone``, as the recording system's manual states them) and the channel becomes a
:class:`~app.core.scoring.event_indices.PositionTrack` for the by-position indices.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> pos = np.r_[np.full(600, 1.0), np.full(600, 2.0)]
>>> rec = Recording.from_signals([("C4-M1", np.zeros(120000), 100.0, "uV"),
...                               ("Position", pos, 1.0, "")])
>>> track = position_track(rec, parse_codes("1=supine, 2=left"))
>>> track.at(10.0), track.at(900.0)
('supine', 'left')
"""

from __future__ import annotations

import numpy as np

from app.core.detectors.reading import DetectorSkipped, body_sources, missing, read_reduced
from app.core.scoring.event_indices import POSITIONS, PositionTrack, position_label
from app.core.signals.recording import Recording


def parse_codes(text: str) -> dict[float, str]:
    """``"0=right,1=supine"`` -> {0.0: "right", 1.0: "supine"}; a bad pair is a sentence."""
    codes: dict[float, str] = {}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        value, _, name = part.partition("=")
        label = position_label(name)
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not np.isfinite(number) or label is None:
            raise DetectorSkipped(f"The position code {part!r} is not NUMBER=POSITION; write "
                                  f"e.g. 0=right,1=supine,2=left,3=prone (positions: "
                                  f"{', '.join(POSITIONS)}).")
        codes[number] = label
    if not codes:
        raise DetectorSkipped("No position codes given; write e.g. 0=right,1=supine,2=left,"
                              "3=prone as the recording system's manual states them.")
    return codes


def position_track(rec: Recording, codes: dict[float, str]) -> PositionTrack:
    """The study's position channel, read once a second and decoded with ``codes``.

    A second whose value is far from every code (more than a quarter of the smallest gap
    between codes) is unknown.

    Raises
    ------
    DetectorSkipped
        The study has no position channel.
    """
    src = body_sources(rec)["position"]
    if src is None:
        raise missing(("position",), "indices by position were not computed")
    x, rate = read_reduced(rec, src, 1.0)
    keys = np.array(sorted(codes))
    tol = np.min(np.diff(keys)) / 4 if keys.size > 1 else 0.5
    nearest = np.abs(x[:, None] - keys[None, :]).argmin(axis=1) if x.size else np.zeros(0, int)
    ok = np.isfinite(x) & (np.abs(x - keys[nearest]) <= tol)
    labels = np.where(ok, np.array([codes[k] for k in keys], object)[nearest], "")
    change = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if labels.size else []
    times = tuple(float(i / rate) for i in change)
    return PositionTrack(times, tuple(str(labels[i]) or "unknown" for i in change))
