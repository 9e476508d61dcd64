"""Limb movements and periodic limb movement (PLM) series, from the anterior tibialis EMG.

AASM Manual v2.6/v3 (Berry et al.): a limb movement (LM) lasts 0.5-10 s; it begins
where the EMG rises 8 uV or more above the resting EMG and ends at the start of a period
of at least 0.5 s during which it stays under 2 uV above resting EMG. The rules that
join movements (both legs within 5 s, PLM series, the respiratory exclusion) are
:mod:`app.core.scoring.limb_series`'s, the same for every source of movements.

"EMG voltage" is measured as the amplitude of the sine with the same rms in 50-ms bins
(sqrt(2) x rms) of the 10-Hz high-passed EMG; the resting EMG is its running median over
60 s. The EMG is read in 10-min chunks and kept at 20 Hz.

Examples
--------
>>> import numpy as np
>>> from app.core.scoring.events import Event, EventType
>>> lms = [Event(EventType.LIMB_MOVEMENT, 100.0 + 25 * k, 2.0) for k in range(4)]
>>> [e.type.value for e in plm_series(lms)]
['plm', 'plm', 'plm', 'plm']
>>> [e.type.value for e in plm_series(lms[:3])]
['limb_movement', 'limb_movement', 'limb_movement']
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from app.core.detectors.reading import body_sources, confidence, map_chunks, missing, runs
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.limb_series import (  # noqa: F401 (re-exported: the series rules)
    BILATERAL_SEC,
    merge_bilateral,
    plm_series,
)
from app.core.signals.channels import Source
from app.core.signals.recording import Recording

ENV_RATE = 20.0
ONSET_UV, END_UV, END_SEC = 8.0, 2.0, 0.5
MIN_SEC, MAX_SEC = 0.5, 10.0
REST_SEC = 60.0
MIN_RATE = 25.0          # Hz: a 10-Hz high-pass needs room under Nyquist
LEG_ROLES = ("leg_left", "leg_right", "leg")


def detect_limb_movements(rec: Recording, *, notes: list[str] | None = None) -> list[Event]:
    """Limb movements on the study's leg EMG channels (both legs merged per the AASM).

    Raises
    ------
    DetectorSkipped
        No leg EMG channel, or none sampled fast enough for a 10-Hz high-pass.
    """
    src = body_sources(rec)
    legs = [(side, src[role]) for side, role in (("left", "leg_left"), ("right", "leg_right"),
                                                 ("both", "leg")) if src[role] is not None]
    if not legs:
        raise missing(LEG_ROLES, "limb movements were not detected", what="leg EMG")
    per_leg = []
    for side, s in legs:
        rate = rec.channel(s.plus).sfreq
        if rate < MIN_RATE:
            if notes is not None:
                notes.append(f"{s.name} is sampled at {rate:g} Hz, too slow for leg EMG "
                             f"(at least {MIN_RATE:g} Hz); it was not used.")
            continue
        per_leg.append(movements(envelope(rec, s), ENV_RATE, channel=s.name, side=side))
    if not per_leg:
        raise missing(LEG_ROLES, "limb movements were not detected (the leg channels are "
                      "sampled too slowly)", what="usable leg EMG")
    return merge_bilateral([e for leg in per_leg for e in leg])


def envelope(rec: Recording, source: Source) -> np.ndarray:
    """sqrt(2) x rms of the 10-Hz high-passed EMG in 50-ms bins, read in chunks (uV)."""
    def one(x: np.ndarray, sfreq: float) -> np.ndarray:
        x = np.where(np.isfinite(x), x, 0.0)
        sos = signal.butter(4, 10.0, btype="high", fs=sfreq, output="sos")
        y = signal.sosfiltfilt(sos, x)
        n_out = int(round(x.size / sfreq * ENV_RATE))
        edges = np.round(np.arange(n_out + 1) * sfreq / ENV_RATE).astype(np.int64)
        sq = np.concatenate(([0.0], np.cumsum(y * y)))
        width = np.maximum(np.diff(edges), 1)
        return np.sqrt(2.0 * (sq[edges[1:]] - sq[edges[:-1]]) / width)
    return map_chunks(rec, source, one, ENV_RATE, chunk_sec=600.0, pad_sec=5.0)


def movements(env: np.ndarray, rate: float, *, channel: str = "", side: str = "") -> list[Event]:
    """Limb movements in one leg's EMG amplitude envelope (uV) at ``rate`` Hz."""
    step = max(1, int(rate))
    coarse = env[: env.size // step * step].reshape(-1, step).mean(axis=1)
    if coarse.size == 0:
        return []
    rest = np.repeat(ndimage.median_filter(coarse, size=int(REST_SEC), mode="nearest"), step)
    rest = np.concatenate((rest, np.full(env.size - rest.size, rest[-1])))
    above = env - rest
    quiet = above < END_UV
    need = max(1, int(round(END_SEC * rate)))
    # quiet_from[j]: how many quiet samples in a row start at j
    quiet_from = np.zeros(env.size + 1, np.int64)
    for a, b in runs(quiet):
        quiet_from[a:b] = np.arange(b - a, 0, -1)
    ends = np.flatnonzero(quiet_from[:-1] >= need)
    out, i = [], 0
    onsets = np.flatnonzero(above >= ONSET_UV)
    while True:
        k = np.searchsorted(onsets, i)
        if k >= onsets.size:
            break
        a = int(onsets[k])
        j = np.searchsorted(ends, a)
        b = int(ends[j]) if j < ends.size else env.size
        sec = (b - a) / rate
        peak = float(above[a:b].max())
        if MIN_SEC <= sec <= MAX_SEC:
            out.append(Event(EventType.LIMB_MOVEMENT, onset=a / rate, duration=sec,
                             channels=(channel,) if channel else (), source=EventSource.DETECTOR,
                             confidence=confidence((peak - ONSET_UV) / ONSET_UV),
                             detail={"peak_above_rest_uv": round(peak, 1),
                                     "rest_uv": round(float(rest[a]), 1), "side": side}))
        i = b + 1
    return out


