"""Oxygen desaturations: a fall of SpO2 by 3 % (or 4 %) or more from its baseline.

AASM Manual v2.6/v3 (Berry et al.) uses a >= 3 % desaturation (recommended, rule 1A) or
>= 4 % (acceptable, rule 1B; CMS) from the "pre-event baseline" to confirm hypopneas, and
the oxygen desaturation index (ODI) counts such falls per hour of sleep; the manual
leaves the baseline to the scorer. Here, as in common ODI software, the baseline at each
moment is the highest valid SpO2 of the preceding 120 s, so a slow drift through the
night is never a desaturation and a fall is measured from where it began.

An event runs from that highest sample (where the fall began) to the moment SpO2 climbs
back within the drop of its baseline; its nadir and drop are in ``detail``. Samples
outside 50-100 % (a probe off reads 0) and jumps of more than 4 % in a second (no blood
desaturates that fast: motion) are artefact and never start or end an event.

Examples
--------
>>> import numpy as np
>>> t = np.arange(600.0)
>>> spo2 = 97 - 3.5 * np.exp(-(((t - 300) / 8) ** 2))    # a 3.5 % dip
>>> [round(e.detail["drop_pct"], 1) for e in desaturations(spo2, 1.0, drop_pct=3.0)]
[3.5]
>>> desaturations(spo2, 1.0, drop_pct=4.0)
[]
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.core.detectors.reading import body_sources, confidence, missing, read_reduced, runs
from app.core.scoring.events import Event, EventSource, EventType
from app.core.signals.recording import Recording

BASELINE_SEC = 120.0
VALID = (50.0, 100.0)
MAX_STEP_PER_SEC = 4.0
MIN_SEC = 2.0            # below threshold for at least this long (one 1-Hz sample is noise)
BRIDGE_SEC = 5.0         # two dips closer than this are one desaturation


def detect_desaturations(rec: Recording, *, drop_pct: float = 3.0) -> list[Event]:
    """Desaturations of the study's SpO2 channel by at least ``drop_pct`` percent.

    Raises
    ------
    DetectorSkipped
        The study has no SpO2 channel (a plethysmogram is not one).
    """
    src = body_sources(rec)["spo2"]
    if src is None:
        raise missing(("spo2",), "desaturations were not detected")
    x, rate = read_reduced(rec, src, 1.0)
    return desaturations(x, rate, drop_pct=drop_pct, channel=src.name)


def desaturations(spo2: np.ndarray, rate: float, *, drop_pct: float = 3.0,
                  channel: str = "SpO2") -> list[Event]:
    """Desaturations in an SpO2 series (percent) sampled at ``rate`` Hz."""
    x = clean(spo2, rate)
    n_base = max(1, int(round(BASELINE_SEC * rate)))
    filled = np.where(np.isnan(x), -np.inf, x)
    # maximum over the n_base samples before each one (the window ends one sample back)
    base = ndimage.maximum_filter1d(filled, n_base, mode="nearest", origin=(n_base - 1) // 2)
    base = np.concatenate(([-np.inf], base[:-1]))
    base[~np.isfinite(base)] = np.nan
    with np.errstate(invalid="ignore"):
        below = x <= base - drop_pct
    out = []
    for a, b in runs(below, bridge=int(BRIDGE_SEC * rate)):
        if (b - a) / rate < MIN_SEC:
            continue
        seg = x[a:b]
        if np.isnan(seg).all():
            continue
        k = a + int(np.nanargmin(seg))
        top = base[a]
        lo = max(0, a - n_base)
        window = np.where(np.isnan(x[lo:a]), -np.inf, x[lo:a])
        start = lo + int(np.flatnonzero(window >= top - 1e-9)[-1]) if window.size and \
            (window >= top - 1e-9).any() else a
        drop = float(top - x[k])
        out.append(Event(
            EventType.DESATURATION, onset=start / rate, duration=(b - start) / rate,
            channels=(channel,), source=EventSource.DETECTOR,
            confidence=confidence((drop - drop_pct) / drop_pct), text=f"{drop_pct:g} % rule",
            detail={"baseline_pct": round(float(top), 2), "nadir_pct": round(float(x[k]), 2),
                    "drop_pct": round(drop, 2), "nadir_s": round(k / rate, 1),
                    "rule_pct": drop_pct}))
    return out


def clean(spo2: np.ndarray, rate: float) -> np.ndarray:
    """SpO2 with artefact (out of 50-100 %, or jumping > 4 %/s) set to NaN."""
    x = np.asarray(spo2, float).copy()
    with np.errstate(invalid="ignore"):
        x[(x < VALID[0]) | (x > VALID[1])] = np.nan
        jump = np.abs(np.diff(x)) * rate > MAX_STEP_PER_SEC
    bad = np.zeros(x.size, bool)
    bad[:-1] |= jump
    bad[1:] |= jump
    x[bad] = np.nan
    return x


def spo2_series(rec: Recording) -> tuple[np.ndarray, float] | None:
    """The study's SpO2 at 1 Hz, artefact removed (None: no SpO2 channel)."""
    src = body_sources(rec)["spo2"]
    if src is None:
        return None
    x, rate = read_reduced(rec, src, 1.0)
    return clean(x, rate), rate


def with_measured_drops(rec: Recording, events: list[Event], *,
                        spo2: tuple[np.ndarray, float] | None = None) -> list[Event]:
    """``events`` with a drop measured on the SpO2 channel for each desaturation that
    carries none (a lab's EDF+ "SpO2 desaturation" marks usually do not), so the ODI can
    count them: the maximum of the 120 s before the mark against the minimum from its
    start to 30 s after its end (the nadir lags the event). Marked ``drop_measured``.
    Without an SpO2 channel the events come back as they are. ``spo2``: the series of
    :func:`spo2_series`, when the caller keeps it (the window does)."""
    todo = [i for i, e in enumerate(events) if e.type is EventType.DESATURATION
            and not any(isinstance(e.detail.get(k), (int, float))
                        for k in ("drop_pct", "spo2_drop", "drop"))]
    if not todo:
        return list(events)
    series = spo2 if spo2 is not None else spo2_series(rec)
    if series is None:
        return list(events)
    x, rate = series
    out = list(events)
    for i in todo:
        e = events[i]
        a = max(0, int((e.onset - BASELINE_SEC) * rate))
        s, b = int(e.onset * rate), int((e.end + 30.0) * rate) + 1
        before, during = x[a:s + 1], x[s:b]
        if not np.isfinite(before).any() or not np.isfinite(during).any():
            continue
        top, low = float(np.nanmax(before)), float(np.nanmin(during))
        out[i] = e.replace(detail={**e.detail, "baseline_pct": round(top, 2),
                                   "nadir_pct": round(low, 2),
                                   "drop_pct": round(max(0.0, top - low), 2),
                                   "drop_measured": True})
    return out
