"""Arousals: an abrupt shift of EEG frequency lasting 3 s or more, after 10 s of stable sleep.

AASM Manual v2.6/v3 (Berry et al.), arousal rule: score an arousal during sleep stages
N1, N2, N3 or R for an abrupt shift of EEG frequency including alpha, theta and/or
frequencies greater than 16 Hz (but not spindles) that lasts at least 3 s, with at least
10 s of stable sleep preceding the change. Scoring an arousal in R requires a concurrent
increase in submental EMG lasting at least 1 s. The hypnogram says where sleep is, so
this detector needs one.

How it is measured: the EEG (central first, as the AASM montage reads arousals; else the
study's best EEG) is cut into 1-s windows and each window's power in theta 4-8 Hz, alpha
8-12 Hz, sigma 12-16 Hz (spindles) and beta above 16 Hz is compared with its median over
the 30 s before. A second *shifts* when alpha or beta power rises 3-fold, or theta
4-fold, and the rise is not led by sigma (a spindle leaks into its neighbours; it is not
an arousal). Three or more shifting seconds in a row (a 1-s dip bridged) are an arousal
when the 10 s before are sleep with no other arousal; in REM the chin's rms must also
double for at least a second inside it. The EEG is read 10 min at a time.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> powers = np.ones((120, 4))                 # theta, alpha, sigma, beta per second
>>> powers[60:65, 1] = 8.0                     # 5 s of alpha
>>> stages = np.full(120, 2)                   # N2 every second
>>> [(e.onset, e.duration) for e in arousals(powers, stages)]
[(60.0, 5.0)]
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from app.core.detectors.reading import DetectorSkipped, confidence, map_chunks, runs
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage
from app.core.signals.channels import Source
from app.core.signals.recording import Recording

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 12.0), "sigma": (12.0, 16.0), "beta": (16.0, 30.0)}
RISE = {"theta": 4.0, "alpha": 3.0, "beta": 3.0}
BACKGROUND_SEC = 30
MIN_SEC, STABLE_SEC = 3, 10
CHIN_RISE, CHIN_MIN_SEC = 2.0, 1
MIN_EEG_RATE = 40.0
_SLEEP = (int(Stage.N1), int(Stage.N2), int(Stage.N3), int(Stage.REM))
_NAMES = {int(s): s.label for s in Stage}


def detect_arousals(rec: Recording, hypnogram: Hypnogram | None, *,
                    notes: list[str] | None = None) -> list[Event]:
    """Arousals in the study's sleep (the hypnogram's epochs count from the study start).

    Raises
    ------
    DetectorSkipped
        No hypnogram, no EEG, or an EEG sampled too slowly for the > 16 Hz band.
    """
    if hypnogram is None:
        raise DetectorSkipped("No hypnogram: arousals were not detected, because an arousal "
                              "is scored only after 10 s of sleep (give the study's "
                              "hypnogram, or score its sleep first).")
    slots = rec.fill_slots(["central", "eeg", "chin"])
    eeg = slots["central"] or slots["eeg"]
    if eeg is None:
        raise DetectorSkipped("No EEG channel: arousals were not detected (map an EEG in the "
                              "channel mapping).")
    rate = rec.channel(eeg.plus).sfreq
    if rate < MIN_EEG_RATE:
        raise DetectorSkipped(f"{eeg.name} is sampled at {rate:g} Hz: arousals were not "
                              f"detected, because the > 16 Hz band needs at least "
                              f"{MIN_EEG_RATE:g} Hz.")
    powers = map_chunks(rec, eeg, band_powers, 1.0, chunk_sec=600.0, pad_sec=5.0)
    chin = None
    if slots["chin"] is not None:
        chin = map_chunks(rec, slots["chin"], chin_rms, 1.0, chunk_sec=600.0, pad_sec=0.0)
    elif notes is not None and (hypnogram.stages == Stage.REM).any():
        notes.append("No chin EMG: arousals in REM were not scored (the AASM asks for a "
                     "chin EMG rise with each).")
    stages = stage_per_second(hypnogram, powers.shape[0])
    return arousals(powers, stages, chin=chin, channels=_names(eeg, slots["chin"]))


def band_powers(x: np.ndarray, sfreq: float) -> np.ndarray:
    """(seconds, 4) power of theta, alpha, sigma and beta in each 1-s window (NaN, as
    outside the recording, reads as 0)."""
    n_sec = int(x.size / sfreq)
    width = int(sfreq)
    if n_sec == 0 or width < 8:
        return np.zeros((n_sec, len(BANDS)))
    idx = (np.arange(n_sec) * sfreq).astype(np.int64)[:, None] + np.arange(width)
    x = np.where(np.isfinite(x), x, 0.0)
    # delta carries most of the power; a 2-Hz high-pass keeps its leakage out of the bands
    x = signal.sosfiltfilt(signal.butter(2, 2.0, btype="high", fs=sfreq, output="sos"), x)
    seg = x[np.minimum(idx, x.size - 1)]
    seg = (seg - seg.mean(axis=1, keepdims=True)) * np.hanning(width)
    spec = np.abs(np.fft.rfft(seg, axis=1)) ** 2
    freqs = np.fft.rfftfreq(width, 1.0 / sfreq)
    out = np.empty((n_sec, len(BANDS)))
    for j, (lo, hi) in enumerate(BANDS.values()):
        sel = (freqs >= lo) & (freqs < min(hi, 0.45 * sfreq))
        out[:, j] = spec[:, sel].sum(axis=1)
    return out


def chin_rms(x: np.ndarray, sfreq: float) -> np.ndarray:
    """rms of the chin EMG in each 1-s window (high-passed at 10 Hz when the rate allows;
    a 1-Hz rms envelope, as Sleep-EDF stores the chin, is taken as it is)."""
    x = np.where(np.isfinite(x), x, 0.0)
    if sfreq >= 25.0:
        x = signal.sosfiltfilt(signal.butter(2, 10.0, btype="high", fs=sfreq, output="sos"), x)
    n_sec = int(x.size / sfreq)
    edges = (np.arange(n_sec + 1) * sfreq).astype(np.int64)
    sq = np.concatenate(([0.0], np.cumsum(x * x)))
    return np.sqrt((sq[edges[1:]] - sq[edges[:-1]]) / np.maximum(np.diff(edges), 1))


def stage_per_second(hyp: Hypnogram, n_sec: int) -> np.ndarray:
    """The hypnogram's stage code for each second of the study (Unscored past its end)."""
    epoch = (np.arange(n_sec) // hyp.epoch_sec).astype(np.int64)
    out = np.full(n_sec, int(Stage.UNSCORED))
    ok = epoch < hyp.n_epochs
    out[ok] = hyp.stages[epoch[ok]]
    return out


def arousals(powers: np.ndarray, stages: np.ndarray, *, chin: np.ndarray | None = None,
             channels: tuple[str, ...] = ()) -> list[Event]:
    """Arousals from per-second band powers (theta, alpha, sigma, beta) and stages."""
    n = min(powers.shape[0], stages.size)
    powers, stages = powers[:n], stages[:n]
    ratio = powers / _background(powers)
    th, al, si, be = ratio.T
    rise = np.vstack([th / RISE["theta"], al / RISE["alpha"], be / RISE["beta"]])
    shift = (rise.max(axis=0) >= 1.0) & ~((si > al) & (si > be) & (si > th))
    chin_ratio = None if chin is None else chin[:n] / _background(chin[:n, None])[:, 0]
    asleep = np.isin(stages, _SLEEP)
    out, last_end = [], -np.inf
    shifting = shift & np.isfinite(ratio).all(axis=1)
    for a, b in runs(shifting, bridge=1):
        if shifting[a:b].sum() < MIN_SEC or a < STABLE_SEC or not asleep[a]:
            continue
        if not asleep[a - STABLE_SEC: a].all() or a - last_end < STABLE_SEC:
            continue
        stage = int(stages[a])
        chin_peak = None
        if chin_ratio is not None:
            chin_peak = float(np.nanmax(chin_ratio[a:b]))
        if stage == int(Stage.REM):
            seconds_up = 0 if chin_ratio is None else int((chin_ratio[a:b] >= CHIN_RISE).sum())
            if seconds_up < CHIN_MIN_SEC:
                continue
        band = ("theta", "alpha", "beta")[int(np.argmax(rise[:, a:b].max(axis=1)))]
        peak = float(rise[:, a:b].max())
        out.append(Event(EventType.AROUSAL, onset=float(a), duration=float(b - a),
                         channels=channels, source=EventSource.DETECTOR,
                         confidence=confidence(float(np.log2(peak))),
                         detail={"stage": _NAMES.get(stage, str(stage)), "band": band,
                                 "power_rise": round(peak * RISE[band], 1),
                                 "chin_rise": None if chin_peak is None else round(chin_peak, 1)}))
        last_end = b
    return out


def _background(x: np.ndarray) -> np.ndarray:
    """Median of each column over the 30 s before each second (the first 30 s use the
    first 30 s), never zero."""
    centred = ndimage.median_filter(x, size=(BACKGROUND_SEC, 1), mode="nearest")
    lag = BACKGROUND_SEC // 2                  # centred[t - 15] spans [t - 30, t - 1]
    first = centred[min(lag, len(centred) - 1)][None, :]
    back = np.concatenate((np.repeat(first, lag, axis=0), centred))[: len(x)]
    floor = np.maximum(np.nanmedian(x, axis=0) * 1e-3, 1e-12)
    return np.maximum(back, floor)


def _names(eeg: Source, chin: Source | None) -> tuple[str, ...]:
    return (eeg.name,) + (() if chin is None else (chin.name,))
