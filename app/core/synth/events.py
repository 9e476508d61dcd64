"""Planted events: the waveforms of spindles, K-complexes, slow-wave trains, alpha bursts,
sawtooth waves, eye movements, twitches, movements, electrode pops and sweat, and where in
the night they fall. Each one is recorded as a :class:`PlantedEvent`."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import signal as _signal

from app.core.synth.physiology import DURATIONS, RATES, WAKE_EYE_RATES

_ALL_RATES = {**RATES, **WAKE_EYE_RATES}


@dataclasses.dataclass(frozen=True)
class PlantedEvent:
    """One waveform planted in the synthetic signal.

    ``onset`` is seconds from the record start and the event lies inside epoch ``epoch``.
    """

    kind: str
    channel: str
    onset: float
    duration: float
    epoch: int



def wave(kind: str, rng: np.random.Generator, t: np.ndarray, d: np.ndarray,
          subj: dict[str, Any]) -> np.ndarray:
    """Waveforms (n_events, len(t)) in uV (envelopes for alpha/EMG kinds), zero after d."""
    n = d.size
    u = np.minimum(t[None, :] / d[:, None], 1.0)

    def a(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)[:, None]

    def sign() -> np.ndarray:
        return np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None]

    def gauss(c: float, w: float) -> np.ndarray:
        return np.exp(-(((u - c) / w) ** 2))

    def slow_mix(f_lo: float, f_hi: float) -> np.ndarray:
        # Sum of three sinusoids, unit rms: irregular slow activity.
        f, ph = rng.uniform(f_lo, f_hi, (n, 3)), rng.uniform(0, 2 * np.pi, (n, 3))
        return sum(np.sin(2 * np.pi * f[:, j, None] * t + ph[:, j, None]) for j in range(3)) \
            * np.sqrt(2.0 / 3.0)

    tukey = np.minimum(1.0, np.sin(np.pi * u) * 2.5)
    if kind == "spindle":
        f = np.clip(subj["spindle_freq"] + rng.normal(0, 0.4, n), 11.0, 16.0)[:, None]
        amp = subj["spindle_amp"] * np.exp(rng.normal(0, 0.3, n))[:, None]
        w = amp * np.sin(np.pi * u) * np.sin(2 * np.pi * f * t + a(0, 2 * np.pi))
    elif kind == "k_complex":  # sharp negative wave then slower positive component
        amp = subj["kc_amp"] * np.exp(rng.normal(0, 0.25, n))[:, None]
        w = amp * (-gauss(0.28, 0.11) + 0.55 * gauss(0.62, 0.17))
    elif kind == "vertex":
        w = a(40, 90) * (-gauss(0.4, 0.15) + 0.3 * gauss(0.75, 0.12))
    elif kind == "delta":  # slow-wave train 0.5-2 Hz, rms in uV at frontal sites
        w = a(25, 40) * subj["delta_gain"] * tukey * slow_mix(0.5, 1.5)
    elif kind == "alpha":  # burst envelope (uV rms at O2) for the alpha carrier
        w = a(15, 30) * subj["alpha_gain"] * tukey
    elif kind == "sawtooth":
        f = a(2.0, 4.5)
        w = a(20, 45) * np.sqrt(np.sin(np.pi * u)) * _signal.sawtooth(
            2 * np.pi * f * t + a(0, 2 * np.pi), width=0.3)
    elif kind == "blink":  # vertical: gamma-shaped lid/eye deflection ~0.3 s
        g = u / 0.35
        w = a(80, 250) * g**3 * np.exp(3 * (1 - g))
    elif kind in ("saccade", "vsaccade", "rem"):  # step-and-return, AC-coupling decay (0.3 Hz)
        rise = 0.04 if kind != "rem" else rng.uniform(0.03, 0.1, n)[:, None]
        amp = a(60, 220) if kind == "rem" else a(100, 300)
        hold = 0.55 * d[:, None]

        def step(x: np.ndarray) -> np.ndarray:
            s = np.clip(x / rise, 0.0, 1.0)
            return s * s * (3 - 2 * s) * np.exp(-np.maximum(x, 0) / 0.53)

        w = amp * sign() * (step(t[None, :]) - step(t[None, :] - hold))
    elif kind == "flutter":  # a run of quick one-signed jerks at 2-4 Hz, uneven sizes
        f = a(2.0, 4.0)
        ph = 2 * np.pi * f * t[None, :] + 0.6 * np.sin(2 * np.pi * a(0.3, 0.9) * t[None, :])
        size = 0.6 + 0.4 * np.sin(2 * np.pi * a(0.5, 1.5) * t)
        jerks = np.maximum(np.sin(ph), 0.0) ** 3 * size
        w = a(40, 120) * tukey * jerks
    elif kind == "slow_eye":  # pendular, initial deflection > 0.5 s
        w = a(30, 100) * sign() * np.sin(np.pi * u)
    elif kind == "twitch":
        w = a(5, 15) * np.sin(np.pi * u)
    elif kind == "movement":
        w = a(20, 60) * tukey
    elif kind == "leg_movement":
        w = a(10, 40) * tukey
    elif kind == "pop":  # electrode pop: abrupt step, exponential decay
        w = a(150, 500) * sign() * (1 - np.exp(-t / 0.004)) * np.exp(-t / a(0.1, 0.3))
    elif kind == "sweat":  # skin potential: a slow swing of tens to hundreds of uV
        f = a(0.04, 0.25)
        w = a(40, 200) * sign() * np.sin(np.pi * u) * np.sin(2 * np.pi * f * t + a(0, np.pi))
    else:  # pragma: no cover - internal table and dispatch are kept in sync
        raise ValueError(f"unknown event kind {kind!r}")
    return w * np.clip((1.0 - u) / 0.08, 0.0, 1.0) * (t[None, :] < d[:, None])


def _plant(kind: str, rng: np.random.Generator, stages: np.ndarray, mult: np.ndarray,
           e: int, sfreq: float, epoch_sec: float, subj: dict[str, Any]):
    """Draw events of one kind: (start samples, durations s, epochs, waveforms)."""
    counts = rng.poisson(np.asarray(_ALL_RATES[kind])[stages] * mult)
    ep = np.repeat(np.arange(stages.size), counts)
    lo, hi = DURATIONS[kind]
    hi = min(hi, 0.8 * epoch_sec)
    n_len = np.ceil(rng.uniform(min(lo, hi), hi, ep.size) * sfreq).astype(np.int64)
    starts = ep * e + (rng.random(ep.size) * (e - n_len + 1)).astype(np.int64)
    dur = n_len / sfreq
    t = np.arange(int(n_len.max()) if ep.size else 1) / sfreq
    waves = wave(kind, rng, t, dur, subj) if ep.size else np.zeros((0, 1))
    return starts, dur, ep, waves


def plant_all(rng: np.random.Generator, st: np.ndarray, e: int, sfreq: float,
              epoch_sec: float, subj: dict[str, Any]) -> dict[str, tuple]:
    """Draw every event kind. Per-epoch rate multipliers: gamma jitter (some N2 epochs
    have few spindles; REM is phasic or tonic); W epochs have eyes open (blinks,
    saccades) or closed (alpha bursts)."""
    n_ep = st.size
    closed = rng.random(n_ep) < subj["eyes_closed"]
    mult = {k: rng.gamma(1.5, 1 / 1.5, n_ep) for k in RATES}
    mult["rem"] = rng.gamma(0.6, 1 / 0.6, n_ep)
    mult["spindle"] *= subj["spindle_density"]
    mult["pop"] *= subj["pop_rate"]
    mult["sweat"] *= subj["sweat_rate"]
    looks = subj["eye_activity"]
    for k, c_mult, o_mult in (("alpha", 1.6, 0.15), ("blink", 0.3, 1.6),
                              ("saccade", 0.2, 1.8 * looks)):
        mult[k] = np.where(st == 0, mult[k] * np.where(closed, c_mult, o_mult), mult[k])
    out = {k: _plant(k, rng, st, mult[k], e, sfreq, epoch_sec, subj) for k in RATES}
    # vertical saccades and flutter: varied subjects only, from their own stream
    eye_rng = np.random.default_rng(subj["eye_seed"] if subj["eye_seed"] is not None else 0)
    on = subj["eye_seed"] is not None
    for k in WAKE_EYE_RATES:
        m = eye_rng.gamma(1.5, 1 / 1.5, n_ep) * on
        m = np.where(st == 0, m * np.where(closed, 0.1, 1.8 * looks), m)
        out[k] = _plant(k, eye_rng, st, m, e, sfreq, epoch_sec, subj)
    return out


