"""Arousals: an abrupt shift to alpha, theta or > 16 Hz for 3 s after 10 s of stable sleep;
in REM with a chin EMG rise."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import make_study

from app.core.detectors.arousal import detect_arousals
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram

RATE = 256.0
SECONDS = 600.0


def _eeg(bursts: list[tuple[float, float, float, float]], seed: int = 0) -> np.ndarray:
    """Sleep-like background (1/f noise, ~20 uV) with sinusoid bursts (onset, length, Hz,
    amplitude uV)."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * RATE)
    spec = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    x *= 20.0 / x.std()
    t = np.arange(n) / RATE
    for onset, length, hz, amp in bursts:
        m = (t >= onset) & (t < onset + length)
        x[m] += amp * np.sin(2 * np.pi * hz * t[m])
    return x


def _chin(rises: list[tuple[float, float]] = (), seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(SECONDS * RATE)
    x = rng.normal(0, 2.0, n)
    t = np.arange(n) / RATE
    for onset, length in rises:
        m = (t >= onset) & (t < onset + length)
        x[m] *= 4.0
    return x


def _hyp(stage: str = "N2", wake_epochs: tuple[int, ...] = ()) -> Hypnogram:
    labels = [stage] * int(SECONDS // 30)
    for k in wake_epochs:
        labels[k] = "W"
    return Hypnogram.from_labels(labels)


def _study(eeg, chin=None):
    chans = {} if chin is None else {"Chin1-Chin2": (chin, RATE)}
    return make_study(SECONDS, chans, eeg=eeg, eeg_rate=RATE)


def test_five_seconds_of_alpha_in_n2_is_an_arousal():
    rec = _study(_eeg([(300, 5, 10.0, 40.0)]), _chin())
    [ev] = detect_arousals(rec, _hyp())
    assert ev.type is EventType.AROUSAL and ev.source is EventSource.DETECTOR
    assert ev.onset == pytest.approx(300, abs=1) and ev.duration == pytest.approx(5, abs=1)
    assert ev.detail["band"] == "alpha" and ev.detail["stage"] == "N2"
    assert ev.channels == ("C4-M1", "Chin")
    assert 0.5 <= ev.confidence <= 1.0


def test_a_beta_burst_counts_and_so_does_theta():
    rec = _study(_eeg([(200, 4, 22.0, 30.0), (400, 4, 6.0, 60.0)]))
    assert [e.detail["band"] for e in detect_arousals(rec, _hyp())] == ["beta", "theta"]


def test_two_seconds_are_too_short():
    assert detect_arousals(_study(_eeg([(300, 2, 10.0, 40.0)])), _hyp()) == []


def test_a_spindle_is_not_an_arousal():
    assert detect_arousals(_study(_eeg([(300, 3, 13.5, 40.0)])), _hyp()) == []


def test_alpha_in_wake_or_without_10_s_of_sleep_before_is_not_an_arousal():
    eeg = _eeg([(305, 5, 10.0, 40.0), (365, 5, 10.0, 40.0)])
    # epoch 10 (300-330 s) is wake; the second burst comes 5 s after sleep resumes at 360 s
    assert detect_arousals(_study(eeg), _hyp(wake_epochs=(10, 11))) == []


def test_in_rem_the_chin_must_rise_too():
    eeg = _eeg([(200, 5, 10.0, 40.0), (400, 5, 10.0, 40.0)])
    found = detect_arousals(_study(eeg, _chin([(401, 2)])), _hyp("REM"))
    assert [round(e.onset) for e in found] == [400]
    assert found[0].detail["chin_rise"] >= 2


def test_without_a_chin_rem_arousals_are_a_note():
    notes = []
    eeg = _eeg([(200, 5, 10.0, 40.0)])
    assert detect_arousals(_study(eeg), _hyp("REM"), notes=notes) == []
    assert notes and notes[0].startswith("No chin EMG: arousals in REM were not scored")


def test_no_hypnogram_and_slow_eeg_are_sentences():
    with pytest.raises(DetectorSkipped, match="^No hypnogram: arousals were not detected"):
        detect_arousals(_study(_eeg([])), None)
    slow = make_study(SECONDS, {}, eeg=np.zeros(int(SECONDS * 32)), eeg_rate=32.0)
    with pytest.raises(DetectorSkipped, match="sampled at 32 Hz: arousals were not detected"):
        detect_arousals(slow, _hyp())
