"""The body's other signals: ECG, respiratory effort and flow, SpO2, temperature."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.synth.noise import epoch_envelope, scatter
from app.core.synth.physiology import HR_REL


def ecg_signal(rng: np.random.Generator, subj: dict[str, Any], st: np.ndarray, e: int,
         sfreq: float, breaths: np.ndarray, resp_sin: np.ndarray) -> np.ndarray:
    """ECG in uV: PQRST template per beat, rate by stage, respiratory sinus arrhythmia.
    Beat times come from a 20-Hz grid (cheap) and are rounded to samples."""
    step = max(1, int(sfreq // 20))
    tg = np.arange(0, st.size * e, step) / sfreq
    hr = np.interp(tg, (np.arange(st.size) + 0.5) * e / sfreq,
                   subj["heart_rate"] * HR_REL[st] * np.exp(rng.normal(0, 0.03, st.size)))
    rate = hr / 60.0 * (1.0 + 0.04 * np.sin(2 * np.pi * breaths[::step]))
    phase = np.concatenate(([0.0], np.cumsum(rate[:-1] * step / sfreq)))
    beats = np.round(np.interp(np.arange(1, int(phase[-1])), phase, tg) * sfreq).astype(np.int64)
    t = np.arange(-0.25, 0.45, 1.0 / sfreq)
    # (centre s, amplitude relative to R, width s) of P, Q, R, S, T
    parts = [(-0.2, 0.12, 0.025), (-0.035, -0.12, 0.01), (0.0, 1.0, 0.011),
             (0.035, -0.25, 0.012), (0.28, 0.3, 0.05)]
    template = sum(a * np.exp(-0.5 * ((t - c) / w) ** 2) for c, a, w in parts) * subj["ecg_amp"]
    starts = beats - int(round(0.25 * sfreq))
    starts = starts[starts >= 0]
    x = scatter(st.size * e, starts, np.broadcast_to(template, (starts.size, t.size)))
    x += np.float32(0.05 * subj["ecg_amp"]) * resp_sin  # respiratory baseline wander
    return x


def resp_signal(rng: np.random.Generator, name: str, st: np.ndarray, e: int, ramp: int,
          sin: np.ndarray, cos: np.ndarray) -> np.ndarray:
    """Respiratory effort/flow in uV: regular in N3, irregular in REM and W."""
    spread = np.where((st == 4) | (st == 0), 0.25, 0.1)
    amp = epoch_envelope(np.exp(rng.normal(0, spread)), e, 5 * ramp)
    gain, lag = {"Airflow": (150.0, 0.4), "Thorax": (400.0, 0.0), "Abdomen": (350.0, -0.2)}[name]
    s = sin * np.float32(np.cos(lag)) + cos * np.float32(np.sin(lag))  # sin(phase + lag)
    c = cos * np.float32(np.cos(lag)) - sin * np.float32(np.sin(lag))
    return np.float32(gain) * amp * (s + np.float32(0.3) * s * c)  # + 0.15 sin(2(phase+lag))
