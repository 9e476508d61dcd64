"""AASM graphoelements in a stretch of one EEG channel: slow waves, alpha, spindles and
K-complexes, each found by a small, documented rule (no trained model, no YASA).

Every function takes the samples of a window (microvolts; NaN where there is no data)
and its rate, and returns what it found with times in seconds from the window's start.
Give a window a few seconds wider than the epoch you ask about: the zero-phase filters
ring at a window's ends. :mod:`app.core.scoring.evidence` picks the derivation AASM
prefers for each rule and turns these into the evidence of one epoch.

Rules (AASM Manual v2.6, "Scoring of sleep stages", definitions; Berry et al. 2020):

- **Slow waves**: 0.5-2 Hz, >= 75 uV peak to peak. The signal is band-passed 0.3-3 Hz
  (zero-phase Butterworth, order 3: under 4 % loss across 0.5-2 Hz); a wave runs from one
  zero crossing to the next in the same direction, lasts 0.5-2 s and spans >= 75 uV.
  N3 is scored when such waves fill >= 20 % of the epoch (:func:`slow_wave_fraction`).
- **Alpha**: each second whose 8-12 Hz power exceeds both its 4-8 Hz power and its
  12-25 Hz power (and 2 uV rms) is alpha-dominant; the AASM wake rule asks for alpha in
  more than 50 % of the epoch over the occipital region.
- **Spindles**: the 11-16 Hz band's amplitude envelope (Hilbert, smoothed over 0.1 s).
  A core rises above ``3 x`` the window's median envelope (and 3 uV) while that band
  holds >= 20 % of the 1-30 Hz power (over 1 s); the spindle extends while the envelope
  stays above ``1.5 x`` the median and 20 % of the burst's own peak; gaps under 0.1 s are
  bridged; 0.5-3 s are kept (AASM: >= 0.5 s) when the burst holds at least twice as much
  11-16 Hz power as 8-11 Hz power (an alpha burst leaks through the band's skirt but not
  that far; spindles slower than ~11.4 Hz are missed).
- **K-complexes**: 0.3-8 Hz band. A negative half-wave (0.1-1 s) immediately followed
  by a positive half-wave, together 0.5-3 s (AASM: >= 0.5 s), standing out from the
  window's background (its robust standard deviation sd = 1.4826 x MAD): the negative
  peak deeper than max(40 uV, 4 sd) and the whole wave max(75 uV, 6 sd) peak to peak.
  On synthetic N2 (background sd ~18 uV at F4-M1) the N2 background's own slow waves
  reach 2.5 sd down and 5 sd peak to peak at the median, planted K-complexes 7 and 11.

Examples
--------
>>> import numpy as np
>>> fs = 100.0
>>> t = np.arange(0, 40, 1 / fs)
>>> x = np.where((t >= 10) & (t < 22), 60 * np.sin(2 * np.pi * 1.0 * t), 0.0)
>>> round(slow_wave_fraction(x, fs, 5.0, 35.0), 2)     # 12 s of 30 s
0.4
>>> y = np.where((t >= 20) & (t < 21), 25 * np.sin(2 * np.pi * 13 * t), 0.0)
>>> y = y + np.random.default_rng(0).normal(0, 2, t.size)
>>> [round(w.onset) for w in spindles(y, fs)]
[20]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import signal as sps

SLOW_WAVE_PTP_UV = 75.0
SLOW_WAVE_PERIOD_SEC = (0.5, 2.0)
ALPHA_BAND, ALPHA_FLOOR_UV = (8.0, 12.0), 2.0
SPINDLE_BAND, SPINDLE_SEC = (11.0, 16.0), (0.5, 3.0)
SPINDLE_CORE, SPINDLE_EDGE, SPINDLE_FLOOR_UV, SPINDLE_REL = 3.0, 1.5, 3.0, 0.2
SPINDLE_OVER_ALPHA, SPINDLE_TRIM = 2.0, 0.2
KC_BAND, KC_SEC, KC_NEG_UV, KC_PTP_UV = (0.3, 8.0), (0.5, 3.0), 40.0, 75.0
KC_NEG_SD, KC_PTP_SD = 4.0, 6.0  # "standing out": multiples of the window's robust SD


@dataclass(frozen=True)
class Wave:
    """One waveform found: seconds from the window's start, peak-to-peak microvolts."""

    onset: float
    duration: float
    ptp_uv: float

    @property
    def end(self) -> float:
        return self.onset + self.duration

    def shifted(self, seconds: float) -> Wave:
        """The same wave with its onset moved (window time -> recording time)."""
        return replace(self, onset=self.onset + seconds)


@lru_cache(maxsize=64)
def _sos(lo: float | None, hi: float | None, sfreq: float, order: int) -> np.ndarray:
    nyq = sfreq / 2.0
    hi = hi if hi is not None and hi < 0.95 * nyq else None
    if lo and hi:
        return sps.butter(order, [lo, hi], "bandpass", fs=sfreq, output="sos")
    if lo:
        return sps.butter(order, lo, "highpass", fs=sfreq, output="sos")
    return sps.butter(order, hi, "lowpass", fs=sfreq, output="sos")


def band(x: np.ndarray, sfreq: float, lo: float | None, hi: float | None,
         order: int = 3) -> np.ndarray:
    """Zero-phase Butterworth band of ``x``; NaN samples are filtered as zeros and stay NaN."""
    x = np.asarray(x, np.float64)
    bad = ~np.isfinite(x)
    if bad.all():
        return np.full(x.shape, np.nan)
    # gaps (before the recording's start, EDF+D holes) are filled with the mean, not 0,
    # so a gap's edge is no step for the filter to ring on
    z = np.where(bad, 0.0, x - np.mean(x[~bad]))
    if z.size > 3 * 2 * order * 3:
        z = sps.sosfiltfilt(_sos(lo, hi, float(sfreq), order), z)
    return np.where(bad, np.nan, z)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the True runs of ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _moving_rms(x: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(np.maximum(sps.oaconvolve(np.nan_to_num(x) ** 2, np.ones(n) / n, "same"), 0))


def _cycles(y: np.ndarray, sfreq: float, crossings: np.ndarray, min_ptp_uv: float
            ) -> list[Wave]:
    """Full cycles between consecutive same-direction zero crossings that are slow waves."""
    out = []
    lo, hi = SLOW_WAVE_PERIOD_SEC
    for a, b in zip(crossings[:-1], crossings[1:], strict=True):
        period = (b - a) / sfreq
        if not lo <= period <= hi:
            continue
        seg = y[a:b + 1]
        ptp = float(np.max(seg) - np.min(seg))
        if ptp >= min_ptp_uv:
            out.append(Wave(a / sfreq, period, ptp))
    return out


def slow_waves(x: np.ndarray, sfreq: float, *, min_ptp_uv: float = SLOW_WAVE_PTP_UV
               ) -> list[Wave]:
    """Slow waves (module rules), each from a downward zero crossing: negative first."""
    y = band(x, sfreq, 0.3, 3.0)
    down = np.flatnonzero((y[:-1] >= 0) & (y[1:] < 0))  # NaN compares False: no crossing
    return _cycles(y, sfreq, down, min_ptp_uv)


def slow_wave_fraction(x: np.ndarray, sfreq: float, t0: float, t1: float, *,
                       min_ptp_uv: float = SLOW_WAVE_PTP_UV) -> float:
    """Share of [t0, t1) s covered by slow waves: the AASM N3 measure (>= 0.2 is N3).

    Cycles are taken from downward and from upward crossings and their union is
    measured, so a train is covered from its first crossing to its last, not one
    period short.
    """
    y = band(x, sfreq, 0.3, 3.0)
    down = np.flatnonzero((y[:-1] >= 0) & (y[1:] < 0))
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    waves = _cycles(y, sfreq, down, min_ptp_uv) + _cycles(y, sfreq, up, min_ptp_uv)
    return covered_fraction(waves, t0, t1)


def slow_wave_cover(x: np.ndarray, sfreq: float, epoch_sec: float = 30.0, *,
                    min_ptp_uv: float = SLOW_WAVE_PTP_UV) -> np.ndarray:
    """Per epoch of a whole night, the share covered by slow waves (the N3 measure).

    The night is filtered once (no ringing at epoch edges), cycles are taken from
    downward and upward crossings as in :func:`slow_wave_fraction`, and their union is
    counted sample by sample. One value per whole epoch in ``x``.

    >>> fs = 100.0
    >>> t = np.arange(0, 90, 1 / fs)
    >>> x = np.where((t >= 30) & (t < 45), 60 * np.sin(2 * np.pi * 1.0 * t), 0.0)
    >>> [round(float(c), 2) for c in slow_wave_cover(x, fs)]
    [0.0, 0.5, 0.0]
    """
    e = int(round(epoch_sec * sfreq))
    n_ep = int(np.asarray(x).size // e) if e > 0 else 0
    if n_ep == 0:
        return np.zeros(0)
    y = band(np.asarray(x, np.float64)[: n_ep * e], sfreq, 0.3, 3.0)
    covered = np.zeros(y.size + 1, np.int32)  # +1 at a wave's start, -1 after its end
    with np.errstate(invalid="ignore"):
        down = np.flatnonzero((y[:-1] >= 0) & (y[1:] < 0))
        up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    lo, hi = SLOW_WAVE_PERIOD_SEC
    for cross in (down, up):
        if cross.size < 2:
            continue
        a, b = cross[:-1], cross[1:]
        period = (b - a) / sfreq
        # each cycle's peak to peak over y[a:b+1]: reduceat gives y[a:b], then y[b]
        top = np.maximum(np.maximum.reduceat(y, cross)[:-1], y[b])
        bottom = np.minimum(np.minimum.reduceat(y, cross)[:-1], y[b])
        ok = (period >= lo) & (period <= hi) & (top - bottom >= min_ptp_uv)
        np.add.at(covered, a[ok], 1)
        np.add.at(covered, b[ok], -1)
    mask = np.cumsum(covered[:-1]) > 0
    return mask.reshape(n_ep, e).mean(axis=1)


def covered_fraction(waves: Sequence[Wave], t0: float, t1: float) -> float:
    """Share of [t0, t1) seconds that the waves cover (overlaps counted once)."""
    if t1 <= t0:
        return 0.0
    spans = sorted((max(w.onset, t0), min(w.end, t1)) for w in waves)
    total, reach = 0.0, t0
    for a, b in spans:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return float(total / (t1 - t0))


def alpha_seconds(x: np.ndarray, sfreq: float, t0: float, t1: float) -> np.ndarray:
    """Per whole second of [t0, t1): True where 8-12 Hz power dominates (module rules)."""
    n_sec = int(np.floor(t1 - t0 + 1e-9))
    if n_sec <= 0 or ALPHA_BAND[1] >= 0.5 * sfreq:
        return np.zeros(max(n_sec, 0), bool)
    a0 = int(round(t0 * sfreq))
    step = sfreq  # samples per second, possibly fractional

    def per_second(lo: float, hi: float) -> np.ndarray:
        p = band(x, sfreq, lo, min(hi, 0.45 * sfreq)) ** 2
        edges = a0 + np.round(np.arange(n_sec + 1) * step).astype(int)
        with np.errstate(invalid="ignore"):
            return np.array([np.nanmean(p[edges[i]:edges[i + 1]]) if edges[i + 1] > edges[i]
                             else np.nan for i in range(n_sec)])

    alpha, slower, faster = per_second(*ALPHA_BAND), per_second(4.0, 8.0), per_second(12.0, 25.0)
    with np.errstate(invalid="ignore"):
        return (alpha > slower) & (alpha > faster) & (alpha >= ALPHA_FLOOR_UV ** 2)


def spindles(x: np.ndarray, sfreq: float) -> list[Wave]:
    """Sleep spindles: 11-16 Hz bursts of 0.5-3 s standing out from the window."""
    if SPINDLE_BAND[1] >= 0.5 * sfreq:
        return []  # the rate cannot hold the band (a 30-Hz EEG): nothing is claimed
    sigma = band(x, sfreq, *SPINDLE_BAND, order=4)
    below = band(x, sfreq, 8.0, SPINDLE_BAND[0], order=4)
    broad = band(x, sfreq, 1.0, 30.0)
    # the band's amplitude envelope, smoothed over 0.1 s (about one spindle cycle): a
    # moving rms would widen each burst by its own window
    env = np.abs(sps.hilbert(np.nan_to_num(sigma)))
    n_smooth = max(int(round(0.1 * sfreq)), 1)
    rms = sps.oaconvolve(env, np.ones(n_smooth) / n_smooth, "same")
    rel = _moving_rms(sigma, int(round(sfreq))) ** 2 / np.maximum(
        _moving_rms(broad, int(round(sfreq))) ** 2, 1e-9)
    finite = np.isfinite(x)
    if not finite.any():
        return []
    ref = float(np.median(rms[finite]))
    core = finite & (rms >= max(SPINDLE_CORE * ref, SPINDLE_FLOOR_UV)) & (rel >= SPINDLE_REL)
    edge = finite & (rms >= SPINDLE_EDGE * ref)
    gap = int(round(0.1 * sfreq))
    starts, ends = _runs(edge)
    keep_s, keep_e = [], []
    for s, e in zip(starts, ends, strict=True):  # bridge short dips inside one spindle
        if keep_e and s - keep_e[-1] <= gap:
            keep_e[-1] = e
        else:
            keep_s.append(s)
            keep_e.append(e)
    out = []
    for s, e in zip(keep_s, keep_e, strict=True):
        if not core[s:e].any():
            continue
        # a burst far above a quiet background: its edges are where it falls to a
        # fraction of its own peak, not the filter's ringing down to the background
        inside = np.flatnonzero(rms[s:e] >= SPINDLE_TRIM * np.nanmax(rms[s:e]))
        s, e = s + int(inside[0]), s + int(inside[-1]) + 1
        dur = (e - s) / sfreq
        if not SPINDLE_SEC[0] <= dur <= SPINDLE_SEC[1]:
            continue
        seg = sigma[s:e]
        # alpha bursts leak through the band's lower skirt: a spindle holds more power
        # in its own band than twice the power just below it
        if np.nanmean(seg ** 2) >= SPINDLE_OVER_ALPHA * np.nanmean(below[s:e] ** 2):
            out.append(Wave(s / sfreq, dur, float(np.nanmax(seg) - np.nanmin(seg))))
    return out


def k_complexes(x: np.ndarray, sfreq: float) -> list[Wave]:
    """K-complexes: a sharp negative wave, then a positive one, standing out (rules)."""
    y = band(x, sfreq, *KC_BAND)
    finite = np.isfinite(y)
    if finite.sum() < sfreq:
        return []
    med = float(np.median(y[finite]))
    sd = 1.4826 * float(np.median(np.abs(y[finite] - med)))
    deep, tall = max(KC_NEG_UV, KC_NEG_SD * sd), max(KC_PTP_UV, KC_PTP_SD * sd)
    down = np.flatnonzero((y[:-1] >= 0) & (y[1:] < 0))
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    out = []
    for a in down:
        i = np.searchsorted(up, a)  # the negative half-wave ends at the next up-crossing
        if i >= up.size:
            break
        m = up[i]
        j = np.searchsorted(down, m)
        b = down[j] if j < down.size else None  # ...and the positive one at the next down
        if b is None:
            break
        neg_sec, total = (m - a) / sfreq, (b - a) / sfreq
        if not (0.1 <= neg_sec <= 1.0 and KC_SEC[0] <= total <= KC_SEC[1]):
            continue
        trough, peak = float(np.min(y[a:m + 1])), float(np.max(y[m:b + 1]))
        if trough <= -deep and peak - trough >= tall:
            out.append(Wave(a / sfreq, total, peak - trough))
    return out
