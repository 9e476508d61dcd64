"""Breathing amplitude: the peak-to-peak excursion of a flow or effort signal, and its
pre-event baseline.

AASM Manual v2.6/v3 (Berry et al.) scores apneas and hypopneas by how far "the peak signal
excursions" drop "from the pre-event baseline". Here the excursion is measured breath by
breath without picking breaths: the signal is reduced to 10 Hz, band-passed to the
breathing band (0.1-1 Hz, zero phase), and its Hilbert envelope smoothed over 2 s is the
half peak-to-peak excursion. Zero-phase filtering keeps a sudden stop of breathing where
it happened: the envelope crosses half the baseline at the stop.

The baseline follows the AASM 2007 definition (the mean excursion of stable breathing in
the 2 min before the event, or of the largest breaths when breathing is unstable): the
75th percentile of the excursion over the 120 s that end 10 s before each moment, so the
event itself never lowers its own baseline and recovery breaths do not dominate it.

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 300, 0.1)
>>> flow = np.sin(2 * np.pi * 0.25 * t) * np.where((t > 200) & (t < 220), 0.0, 1.0)
>>> env = excursion(flow, 10.0)
>>> base = baseline(env, 10.0)
>>> r = env / base
>>> round(float(np.median(r[1500:1900])), 1), bool(r[2100] < 0.1)
(1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from app.core.detectors.reading import read_reduced
from app.core.signals.channels import Source
from app.core.signals.recording import Recording

WORK_RATE = 10.0        # Hz: 25-60 samples per breath
BAND = (0.1, 1.0)       # Hz: 6-60 breaths a minute
SMOOTH_SEC = 2.0
BASELINE_SEC, BASELINE_LAG_SEC, BASELINE_PERCENTILE = 120.0, 10.0, 75.0
BASELINE_FLOOR = 0.3     # of the night's median excursion


@dataclass(frozen=True)
class Breathing:
    """A channel's excursion relative to its baseline, at ``rate`` Hz."""

    name: str
    ratio: np.ndarray        # excursion / baseline; NaN where the signal is missing
    excursion: np.ndarray
    base: np.ndarray
    rate: float

    def times(self, i: np.ndarray | int) -> np.ndarray | float:
        return np.asarray(i) / self.rate


def excursion(x: np.ndarray, rate: float) -> np.ndarray:
    """Half the peak-to-peak breathing excursion, sample by sample (NaN in gaps)."""
    x = np.asarray(x, float)
    bad = ~np.isfinite(x)
    if x.size < int(4 * rate) or bad.all():
        return np.full(x.size, np.nan)
    filled = np.where(bad, np.nanmedian(x), x)
    hi = min(BAND[1], 0.45 * rate)
    sos = signal.butter(2, [BAND[0], hi], btype="band", fs=rate, output="sos")
    env = np.abs(signal.hilbert(signal.sosfiltfilt(sos, filled)))
    env = ndimage.uniform_filter1d(env, max(1, int(SMOOTH_SEC * rate)), mode="nearest")
    env[ndimage.binary_dilation(bad, iterations=max(1, int(SMOOTH_SEC * rate)))] = np.nan
    return env


def baseline(env: np.ndarray, rate: float) -> np.ndarray:
    """The pre-event baseline of an excursion (see the module text), same length."""
    step = max(1, int(round(rate)))              # the percentile runs on a 1-Hz grid
    coarse = env[: env.size // step * step].reshape(-1, step)
    coarse = np.nanmean(coarse, axis=1) if coarse.size else np.zeros(0)
    if coarse.size == 0 or np.isnan(coarse).all():
        return np.full(env.size, np.nan)
    coarse = np.where(np.isnan(coarse), np.nanmedian(coarse), coarse)
    win = int(BASELINE_SEC)
    centred = ndimage.percentile_filter(coarse, BASELINE_PERCENTILE, size=win, mode="nearest")
    lag = int(BASELINE_LAG_SEC + win / 2)      # the window [t-130 s, t-10 s]
    trailing = np.concatenate((np.full(lag, centred[min(win // 2, centred.size - 1)]),
                               centred))[: coarse.size]
    trailing = np.maximum(trailing, BASELINE_FLOOR * float(np.nanmedian(coarse)))
    fine = np.repeat(trailing, step)
    out = np.full(env.size, fine[-1] if fine.size else np.nan)
    out[: fine.size] = fine
    return out


def breathing(rec: Recording, source: Source) -> Breathing:
    """Read one flow or effort channel (in chunks) and measure its excursion ratio."""
    x, rate = read_reduced(rec, source, WORK_RATE)
    env = excursion(x, rate)
    base = baseline(env, rate)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(base > 0, env / base, np.nan)
    return Breathing(source.name, ratio, env, base, rate)
