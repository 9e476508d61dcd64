"""Hand-built studies for the detector tests: an EEG the recording needs, plus the body
channels a test asks for, each with its own rate."""

from __future__ import annotations

import numpy as np

from app.core.signals.recording import Recording


def make_study(seconds: float, channels: dict[str, tuple[np.ndarray, float]],
               *, eeg: np.ndarray | None = None, eeg_rate: float = 100.0) -> Recording:
    """A recording of ``channels`` ({name: (samples, rate)}) and a C4-M1 EEG."""
    if eeg is None:
        eeg = np.zeros(int(seconds * eeg_rate))
    sigs = [("C4-M1", eeg, eeg_rate, "uV")]
    sigs += [(name, np.asarray(x, float), rate, "%" if "SpO2" in name else "uV")
             for name, (x, rate) in channels.items()]
    return Recording.from_signals(sigs)


def breaths(seconds: float, rate: float = 10.0, period: float = 4.0) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(times, a regular breathing wave of amplitude 1)."""
    t = np.arange(0, seconds, 1.0 / rate)
    return t, np.sin(2 * np.pi * t / period)
