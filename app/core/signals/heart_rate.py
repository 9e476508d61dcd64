"""Heart rate from the ECG, for the events view: R peaks, then beats per minute.

Respiratory events are read against the heart rate (bradycardia during an apnea, a
surge at its end); most studies record the ECG, few a heart-rate channel. R peaks are
found on the band-passed (5-25 Hz), squared ECG with a refractory period of 0.3 s and
an adaptive threshold (a simplified Pan-Tompkins), on whichever polarity the lead has.
Rates outside 25-220 bpm are dropped as misdetections.

Examples
--------
>>> import numpy as np
>>> fs = 200.0
>>> t = np.arange(0, 60, 1 / fs)
>>> ecg = np.zeros_like(t)
>>> ecg[(np.arange(0, 60, 0.8) * fs).astype(int)] = 1000.0   # a beat every 0.8 s
>>> times, bpm = heart_rate(ecg, fs)
>>> round(float(np.median(bpm)))
75
"""

from __future__ import annotations

import numpy as np
from scipy import signal

REFRACTORY_SEC = 0.3   # no two beats closer than this (200 bpm)
BPM_RANGE = (25.0, 220.0)


def r_peaks(ecg: np.ndarray, sfreq: float) -> np.ndarray:
    """Sample indices of the R peaks of ``ecg`` (any polarity); empty when none."""
    x = np.nan_to_num(np.asarray(ecg, dtype=np.float64))
    if x.size < int(2 * sfreq) or sfreq < 40:  # < 2 s, or too slow to see a QRS
        return np.zeros(0, np.int64)
    hi = min(25.0, 0.45 * sfreq)
    sos = signal.butter(2, [5.0, hi], btype="band", fs=sfreq, output="sos")
    y = signal.sosfiltfilt(sos, x)
    energy = y * y
    win = max(1, int(0.08 * sfreq))  # the width of a QRS complex
    energy = np.convolve(energy, np.ones(win) / win, mode="same")
    # the threshold follows the signal: 0.4 of the 98th percentile of each 10-s stretch
    seg = int(10 * sfreq)
    thr = np.empty_like(energy)
    for s in range(0, energy.size, seg):
        chunk = energy[s:s + seg]
        thr[s:s + seg] = 0.4 * np.percentile(chunk, 98)
    peaks, _ = signal.find_peaks(energy, height=thr, distance=int(REFRACTORY_SEC * sfreq))
    return peaks.astype(np.int64)


def heart_rate(ecg: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s from the first sample) and the rate (bpm) from each beat to the next.

    Parameters
    ----------
    ecg : array
        One ECG lead, any unit and polarity.
    sfreq : float
        Its sampling rate (Hz); below 40 Hz no QRS can be seen and nothing is returned.
    """
    peaks = r_peaks(ecg, sfreq)
    if peaks.size < 2:
        return np.zeros(0), np.zeros(0)
    times = peaks / float(sfreq)
    bpm = 60.0 / np.diff(times)
    keep = (bpm >= BPM_RANGE[0]) & (bpm <= BPM_RANGE[1])
    return times[1:][keep], bpm[keep]
