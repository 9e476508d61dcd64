"""Heart rate from the ECG: R peaks found on realistic beats, either polarity, with noise
and baseline wander; nothing invented where no ECG can be read."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.signals.heart_rate import heart_rate, r_peaks


def ecg(beats_sec: np.ndarray, sfreq: float, seconds: float, *, sign: float = 1.0,
        noise_uv: float = 20.0, seed: int = 0) -> np.ndarray:
    """PQRST beats (R 1 mV) at ``beats_sec``, noise and 0.25-Hz breathing wander."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / sfreq)
    x = rng.normal(0, noise_uv, t.size) + 150 * np.sin(2 * np.pi * 0.25 * t)
    k = np.arange(-0.25, 0.45, 1 / sfreq)
    parts = [(-0.2, 0.12, 0.025), (-0.035, -0.12, 0.01), (0.0, 1.0, 0.011),
             (0.035, -0.25, 0.012), (0.28, 0.3, 0.05)]
    beat = 1000 * sum(a * np.exp(-0.5 * ((k - c) / w) ** 2) for c, a, w in parts)
    for b in beats_sec:
        i = int(round((b - 0.25) * sfreq))
        if 0 <= i and i + k.size <= t.size:
            x[i:i + k.size] += sign * beat
    return x


@pytest.mark.parametrize("sfreq, sign", [(256.0, 1.0), (200.0, -1.0), (100.0, 1.0)])
def test_r_peaks_match_the_beats(sfreq, sign):
    rng = np.random.default_rng(1)
    rr = 60 / 62 + rng.normal(0, 0.04, 300)  # ~62 bpm with variability
    beats = 1.0 + np.cumsum(rr)
    beats = beats[beats < 295]
    x = ecg(beats, sfreq, 300.0, sign=sign)
    found = r_peaks(x, sfreq) / sfreq
    hits = sum(np.min(np.abs(found - b)) < 0.03 for b in beats)
    assert hits >= 0.98 * len(beats) and len(found) <= len(beats) + 2
    times, bpm = heart_rate(x, sfreq)
    assert np.median(bpm) == pytest.approx(62, abs=2)


def test_a_bradycardia_shows_in_the_rate():
    beats = np.concatenate([np.arange(1, 60, 60 / 70), np.arange(60, 120, 60 / 45)])
    times, bpm = heart_rate(ecg(beats, 256.0, 121.0), 256.0)
    assert np.median(bpm[times < 55]) == pytest.approx(70, abs=2)
    assert np.median(bpm[times > 65]) == pytest.approx(45, abs=2)


def test_no_ecg_no_rate():
    assert heart_rate(np.zeros(256 * 60), 256.0)[0].size <= 1  # flat: nothing to count
    assert heart_rate(np.ones(10), 256.0)[0].size == 0           # too short
    assert heart_rate(np.random.default_rng(0).normal(0, 1, 600), 10.0)[0].size == 0
