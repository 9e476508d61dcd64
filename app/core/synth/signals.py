"""Signal building blocks of the synthetic PSG: constants with their sources, spectrally
shaped backgrounds, event waveforms and where they are planted. ``synth.py`` assembles
them into a night; nothing here is public API."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import fft as _fft
from scipy import signal as _signal
from scipy.special import expit

STAGE_LABELS = ("W", "N1", "N2", "N3", "REM")
EDF_STAGE_TEXT = ("Sleep stage W", "Sleep stage N1", "Sleep stage N2", "Sleep stage N3",
                  "Sleep stage R")
# Channel -> (type, site). Sites index the topography table TOPO below.
CHANNELS = {
    "F4-M1": ("eeg", "F"), "C4-M1": ("eeg", "C"), "O2-M1": ("eeg", "O"),
    "F3-M2": ("eeg", "F"), "C3-M2": ("eeg", "C"), "O1-M2": ("eeg", "O"),
    "EEG Fpz-Cz": ("eeg", "FpzCz"), "EEG Pz-Oz": ("eeg", "PzOz"),
    "E1-M2": ("eog", "E1"), "E2-M2": ("eog", "E2"), "EOG horizontal": ("eog", "Ehor"),
    "Chin1-Chin2": ("emg", "chin"), "EMG submental": ("emg", "chin"),
    "LAT": ("emg", "leg"), "RAT": ("emg", "leg"), "ECG": ("ecg", "ecg"),
    "Airflow": ("resp", "resp"), "Thorax": ("resp", "resp"), "Abdomen": ("resp", "resp"),
    "SpO2": ("misc", "spo2"),
}
MONTAGES = {
    "aasm": ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin1-Chin2", "ECG"),
    "full": ("F4-M1", "C4-M1", "O2-M1", "F3-M2", "C3-M2", "O1-M2", "E1-M2", "E2-M2",
             "Chin1-Chin2", "LAT", "RAT", "ECG", "Airflow", "Thorax", "Abdomen", "SpO2"),
    "sleep-edf": ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"),
}

# Background rms (uV) per stage at C4-M1 for the noise bands below, tuned so typical
# mastoid-referenced epochs have std ~12-20 uV in W/REM, ~20-30 in N2 and 40-70 in N3,
# with relative band powers close to published sleep spectra (e.g. Vallat & Walker 2021,
# Fig. 2; aperiodic exponent steeper in deep NREM, Lendner et al. 2020).
BANDS = ("flat", "steep", "delta", "theta", "sigma", "beta")
BAND_TOPO = [0, 1, 1, 2, 3, 4]  # band -> column of TOPO (slow 1/f^2.5 part is frontal too)
STAGE_RMS = np.array([
    # 1/f  1/f^2.5  delta theta sigma beta   (delta 0.5-2 Hz slow, theta 4-7.5, sigma 11-16,
    [9.0, 6.0, 3.0, 4.0, 2.0, 5.0],      # W     beta 16-30): low voltage, beta from arousal
    [9.0, 9.0, 6.0, 8.0, 2.0, 3.0],      # N1: theta replaces alpha ("low amplitude mixed")
    [9.0, 14.0, 12.0, 6.0, 4.0, 2.5],    # N2: more delta and sigma (+ spindles, K-complexes)
    [10.0, 28.0, 30.0, 5.0, 2.5, 2.0],   # N3: slow waves (+ slow-wave trains as events)
    [8.0, 8.0, 5.0, 6.0, 1.5, 3.5],      # REM: low-amplitude mixed frequency (+ sawtooth)
])
# Alpha rms (uV at O2) per stage: eyes-closed W alpha dominates, N1 < 50% of the epoch
# (AASM N1 rule), weak alpha in REM (Cantero et al. 2002).
ALPHA_RMS = np.array([20.0, 3.0, 1.5, 1.0, 3.5])
# Per-site gains: columns bg, delta, theta, sigma, beta, alpha, spindle, kcomplex/delta
# events, vertex, sawtooth, blink. Frontal delta/K-complex max, central spindle/vertex
# max, occipital alpha max (AASM scoring rationale, Silber 2007).
TOPO = {
    "F":     [1.0, 1.25, 1.0, 0.8, 1.1, 0.35, 0.8, 1.0, 0.8, 0.7, 0.2],
    "C":     [1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 1.0, 0.85, 1.0, 1.0, 0.05],
    "O":     [1.0, 0.7, 0.8, 0.6, 0.9, 1.0, 0.45, 0.45, 0.4, 0.5, 0.0],
    "FpzCz": [0.8, 0.8, 0.7, 0.6, 0.8, 0.35, 0.6, 0.7, 0.8, 0.7, 0.35],
    "PzOz":  [0.8, 0.55, 0.6, 0.5, 0.7, 0.9, 0.5, 0.35, 0.5, 0.5, 0.0],
    "E1":    [0.5, 0.85, 0.5, 0.3, 0.5, 0.1, 0.25, 0.6, 0.3, 0.3, -0.6],
    "E2":    [0.5, 0.85, 0.5, 0.3, 0.5, 0.1, 0.25, 0.6, 0.3, 0.3, 1.0],
    "Ehor":  [0.5, 0.75, 0.5, 0.3, 0.5, 0.1, 0.25, 0.5, 0.3, 0.3, 0.4],
}
EYE_SIGN = {"E1": 1.0, "E2": -1.0, "Ehor": 1.0}  # conjugate movements: E1/E2 opposite
# Chin EMG rms (uV, 10-100 Hz) relative to wake tone: REM atonia is the lowest of the
# night (AASM REM rule), NREM tone intermediate.
EMG_REL = np.array([1.0, 0.5, 0.4, 0.35, 0.15])
_HR_REL = np.array([1.0, 0.97, 0.93, 0.90, 0.99])   # heart rate vs wake (Trinder 2001)
RESP_REL = np.array([1.05, 1.0, 0.97, 0.95, 1.05])  # breathing rate vs base (Douglas 1982)
# Events per epoch by stage (W, N1, N2, N3, REM). Spindle density 2-7/min in N2
# (Purcell 2017); K-complexes ~1/min in N2; blinks 10-20/min awake; REM bursts phasic.
_RATES = {
    "spindle":   [0.0, 0.2, 2.5, 0.8, 0.05],
    "k_complex": [0.0, 0.1, 0.7, 0.3, 0.0],
    "vertex":    [0.05, 1.5, 0.2, 0.0, 0.0],
    "delta":     [0.0, 0.0, 0.1, 3.0, 0.0],
    "alpha":     [3.0, 0.4, 0.0, 0.0, 0.3],
    "sawtooth":  [0.0, 0.0, 0.0, 0.0, 0.8],
    "blink":     [5.0, 0.2, 0.0, 0.0, 0.0],
    "saccade":   [2.0, 0.05, 0.0, 0.0, 0.0],
    "slow_eye":  [0.3, 1.5, 0.1, 0.0, 0.0],
    "rem":       [0.0, 0.0, 0.0, 0.0, 4.0],
    "twitch":    [0.0, 0.0, 0.02, 0.0, 1.5],
    "movement":  [0.15, 0.03, 0.005, 0.0, 0.005],
    "leg_movement": [0.2, 0.1, 0.05, 0.02, 0.02],
    "pop":       [0.01, 0.01, 0.01, 0.01, 0.01],
}
_DUR = {  # (min, max) seconds
    "spindle": (0.5, 2.0), "k_complex": (0.6, 1.0), "vertex": (0.2, 0.4),
    "delta": (4.0, 12.0), "alpha": (2.0, 9.0), "sawtooth": (1.5, 4.0), "blink": (0.3, 0.4),
    "saccade": (1.0, 2.5), "slow_eye": (2.0, 5.0), "rem": (0.5, 1.5), "twitch": (0.05, 0.25),
    "movement": (2.0, 10.0), "leg_movement": (0.5, 5.0), "pop": (0.5, 1.5),
}



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



def draw_subject(rng: np.random.Generator, seed: int) -> dict[str, Any]:
    """Subject parameters; ranges are typical adult values (see module constants)."""
    u = rng.uniform
    return {
        "seed": seed, "age": int(rng.integers(20, 71)), "male": bool(u() < 0.5),
        "eeg_gain": float(np.exp(rng.normal(0.0, 0.15))),
        "bg_exponent": float(u(1.4, 1.9)),          # 1/f^a power-law of the flat background
        "alpha_freq": float(u(8.5, 11.5)),          # AASM alpha 8-13 Hz
        "alpha_gain": float(np.exp(rng.normal(0.0, 0.3))),
        "spindle_freq": float(u(12.0, 14.5)),       # AASM spindles 11-16 Hz
        "spindle_amp": float(u(20.0, 40.0)),
        "spindle_density": float(np.exp(rng.normal(0.0, 0.3))),
        "kc_amp": float(u(90.0, 160.0)),
        "delta_gain": float(np.exp(rng.normal(0.0, 0.12))),
        "emg_tone": float(u(6.0, 18.0)),            # chin rms in wake, uV
        "heart_rate": float(u(55.0, 78.0)),
        "ecg_amp": float(u(600.0, 1500.0)),
        "resp_rate": float(u(12.0, 17.0)),          # breaths per minute
        "spo2": float(u(95.0, 98.5)),
        "line_freq": 50.0 if u() < 0.5 else 60.0,
        "line_amp": float(u(0.2, 2.0)),
        "eyes_closed": float(u(0.4, 0.8)),          # share of W epochs with eyes closed
    }


def band_shapes(m: int, sfreq: float, names: tuple[str, ...], subj: dict[str, Any]) -> np.ndarray:
    """Power spectral shapes on the rfft grid of length ``m``, each normalised so that a
    variance weight of 1 gives unit time-domain variance (irfft, 'backward' norm)."""
    f = _fft.rfftfreq(m, 1.0 / sfreq)
    floor = np.maximum(f, 0.3)

    def band(lo: float, hi: float, edge: float) -> np.ndarray:
        return expit((f - lo) / edge) * expit((hi - f) / edge)

    table = {
        "flat": floor ** -subj["bg_exponent"] * band(0.3, 0.45 * sfreq, 0.1),
        "steep": floor**-2.5 * band(0.3, 0.45 * sfreq, 0.1),
        "delta": band(0.5, 2.0, 0.12) / floor,  # slow oscillation weighted towards < 1 Hz
        "theta": band(4.0, 7.5, 0.3),
        "sigma": band(11.0, 16.0, 0.4), "beta": band(16.0, 30.0, 1.0),
        "alpha": np.exp(-0.5 * ((f - subj["alpha_freq"]) / 0.6) ** 2),
        "emg": band(10.0, min(100.0, 0.42 * sfreq), 2.0),
    }
    shapes = np.array([table[n] for n in names])
    shapes[:, 0] = 0.0
    return shapes / shapes.sum(axis=1, keepdims=True) * (m * m / 4.0)


def shaped_noise(rng: np.random.Generator, var: np.ndarray, shapes: np.ndarray,
                  e: int, xfade: int) -> np.ndarray:
    """Gaussian noise whose spectrum in epoch k is ``var[k] @ shapes``; segments of
    ``e + xfade`` samples are cross-faded (sin/cos, power-preserving) so stage changes
    ramp over ``xfade`` samples instead of jumping."""
    n_ep, m = var.shape[0], e + xfade
    amp = np.sqrt(var @ shapes).astype(np.float32)
    spec = rng.standard_normal((n_ep, amp.shape[1], 2), dtype=np.float32).view(np.complex64)
    spec = spec[..., 0] * amp
    seg = _fft.irfft(spec, n=m, axis=1)
    ramp = (np.arange(xfade, dtype=np.float32) + 0.5) * np.float32(np.pi / 2 / xfade)
    out = seg[:, :e].copy()
    out[1:, :xfade] *= np.sin(ramp)
    out[1:, :xfade] += seg[:-1, e:] * np.cos(ramp)
    return out.reshape(-1)


def epoch_envelope(values: np.ndarray, e: int, ramp: int) -> np.ndarray:
    """Per-epoch values held over each epoch, with linear ramps of ``ramp`` samples
    centred on the epoch boundaries (ramp <= e)."""
    v = np.asarray(values, dtype=np.float32)
    x = np.repeat(v, e)
    h = min(ramp, e) // 2
    if h > 0 and v.size > 1:
        frac = (np.arange(-h, h, dtype=np.float32) + h + 0.5) / (2 * h)
        idx = (np.arange(1, v.size) * e)[:, None] + np.arange(-h, h)
        x[idx] = v[:-1, None] + (v[1:] - v[:-1])[:, None] * frac
    return x


def slow_envelope(values: np.ndarray, e: int) -> np.ndarray:
    """Linear interpolation between epoch centres: for slow physiology (rates, SpO2)."""
    centres = (np.arange(values.size) + 0.5) * e
    return np.interp(np.arange(values.size * e), centres, values).astype(np.float32)


def wrapped_sin(cycles: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """sin(2*pi*(cycles + offset)) in float32; wrapping first keeps it exact and fast."""
    frac = np.mod(cycles + offset, 1.0).astype(np.float32)
    return np.sin(np.float32(2 * np.pi) * frac)


def line_noise(freq: float, sfreq: float, n: int) -> np.ndarray:
    """Unit mains sinusoid; with an integer rate it repeats every second, so tile it."""
    if freq >= 0.45 * sfreq:  # would alias: real amplifiers filter it out
        return np.zeros(n, dtype=np.float32)
    if float(sfreq).is_integer():
        second = wrapped_sin(freq * np.arange(int(sfreq)) / sfreq)
        return np.tile(second, -(-n // int(sfreq)))[:n]
    return wrapped_sin(freq * np.arange(n) / sfreq)


def scatter(n: int, starts: np.ndarray, waves: np.ndarray) -> np.ndarray:
    """Sum event waveforms (n_events, L) starting at sample ``starts`` into length n."""
    out = np.zeros(n, dtype=np.float32)
    add_events(out, starts, waves)
    return out


def add_events(x: np.ndarray, starts: np.ndarray, waves: np.ndarray) -> None:
    """In place: x[starts[i] + j] += waves[i, j] (overlapping events add up)."""
    if starts.size == 0:
        return
    idx = starts[:, None] + np.arange(waves.shape[1])
    ok = idx < x.size
    if idx.size * 8 < x.size:  # few samples: unbuffered add is cheaper than a full bincount
        np.add.at(x, idx[ok], waves[ok].astype(np.float32))
    else:
        x += np.bincount(idx[ok], weights=waves[ok], minlength=x.size).astype(np.float32)


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
    elif kind in ("saccade", "rem"):  # step-and-return with AC-coupling decay (0.3 Hz HP)
        rise = 0.04 if kind == "saccade" else rng.uniform(0.03, 0.1, n)[:, None]
        amp = a(100, 300) if kind == "saccade" else a(60, 220)
        hold = 0.55 * d[:, None]

        def step(x: np.ndarray) -> np.ndarray:
            s = np.clip(x / rise, 0.0, 1.0)
            return s * s * (3 - 2 * s) * np.exp(-np.maximum(x, 0) / 0.53)

        w = amp * sign() * (step(t[None, :]) - step(t[None, :] - hold))
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
    else:  # pragma: no cover - internal table and dispatch are kept in sync
        raise ValueError(f"unknown event kind {kind!r}")
    return w * np.clip((1.0 - u) / 0.08, 0.0, 1.0) * (t[None, :] < d[:, None])


def _plant(kind: str, rng: np.random.Generator, stages: np.ndarray, mult: np.ndarray,
           e: int, sfreq: float, epoch_sec: float, subj: dict[str, Any]):
    """Draw events of one kind: (start samples, durations s, epochs, waveforms)."""
    counts = rng.poisson(np.asarray(_RATES[kind])[stages] * mult)
    ep = np.repeat(np.arange(stages.size), counts)
    lo, hi = _DUR[kind]
    hi = min(hi, 0.8 * epoch_sec)
    n_len = np.ceil(rng.uniform(min(lo, hi), hi, ep.size) * sfreq).astype(np.int64)
    starts = ep * e + (rng.random(ep.size) * (e - n_len + 1)).astype(np.int64)
    dur = n_len / sfreq
    t = np.arange(int(n_len.max()) if ep.size else 1) / sfreq
    waves = wave(kind, rng, t, dur, subj) if ep.size else np.zeros((0, 1))
    return starts, dur, ep, waves


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None


def check_inputs(stages, hours, seed, sfreq, montage, epoch_sec) -> tuple[np.ndarray | None, int]:
    sfreq, epoch_sec = _number("sfreq", sfreq), _number("epoch_sec", epoch_sec)
    hours = None if hours is None else _number("hours", hours)
    if not isinstance(montage, str) or montage not in MONTAGES:
        raise ValueError(f"Unknown montage {montage!r}; choose one of {', '.join(MONTAGES)}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if not np.isfinite(sfreq) or sfreq < 64:
        raise ValueError(f"sfreq must be at least 64 Hz (spindles and EMG need it), got {sfreq!r}.")
    if not np.isfinite(epoch_sec) or epoch_sec < 5:
        raise ValueError(f"epoch_sec must be at least 5 seconds, got {epoch_sec!r}.")
    if abs(sfreq * epoch_sec - round(sfreq * epoch_sec)) > 1e-6:
        raise ValueError("sfreq * epoch_sec must be a whole number of samples; "
                         f"got {sfreq} Hz x {epoch_sec} s.")
    if (stages is None) == (hours is None):
        raise ValueError("Give either a stage sequence (stages=...) or a duration (hours=...).")
    if stages is None:
        if not np.isfinite(hours) or hours <= 0:
            raise ValueError(f"hours must be a positive number, got {hours!r}.")
        n_ep = int(round(hours * 3600.0 / epoch_sec))
        if n_ep < 1:
            raise ValueError(f"hours={hours} is shorter than one {epoch_sec:g}-s epoch.")
        return None, n_ep
    arr = np.asarray(stages)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.number) \
            or not np.all(np.isin(arr, (-1, 0, 1, 2, 3, 4))):
        raise ValueError("stages must be a non-empty 1-D sequence of stage codes "
                         "(-1 unscored, 0 W, 1 N1, 2 N2, 3 N3, 4 REM).")
    return arr.astype(np.int64), arr.size


def _primary(kind: str, names: tuple[str, ...]) -> str | None:
    """Channel where an event of this kind is largest in the montage, or None if absent."""
    sites = {c: CHANNELS[c][1] for c in names}
    if kind in ("blink", "saccade", "slow_eye", "rem"):
        eog = [c for c in names if CHANNELS[c][0] == "eog"]
        return eog[0] if eog else None
    if kind in ("twitch", "movement"):
        return next((c for c in names if sites[c] == "chin"), None)
    if kind == "leg_movement":
        return next((c for c in names if sites[c] == "leg"), None)
    col = {"alpha": 5, "spindle": 6, "k_complex": 7, "delta": 7, "vertex": 8, "sawtooth": 9}[kind]
    eeg = [c for c in names if CHANNELS[c][0] == "eeg"]
    return max(eeg, key=lambda c: TOPO[sites[c]][col]) if eeg else None


def plant_all(rng: np.random.Generator, st: np.ndarray, e: int, sfreq: float,
               epoch_sec: float, subj: dict[str, Any]) -> dict[str, tuple]:
    """Draw every event kind. Per-epoch rate multipliers: gamma jitter (some N2 epochs
    have few spindles; REM is phasic or tonic); W epochs have eyes open (blinks,
    saccades) or closed (alpha bursts)."""
    n_ep = st.size
    closed = rng.random(n_ep) < subj["eyes_closed"]
    mult = {k: rng.gamma(1.5, 1 / 1.5, n_ep) for k in _RATES}
    mult["rem"] = rng.gamma(0.6, 1 / 0.6, n_ep)
    mult["spindle"] *= subj["spindle_density"]
    for k, c_mult, o_mult in (("alpha", 1.6, 0.15), ("blink", 0.3, 1.6), ("saccade", 0.2, 1.8)):
        mult[k] = np.where(st == 0, mult[k] * np.where(closed, c_mult, o_mult), mult[k])
    return {k: _plant(k, rng, st, mult[k], e, sfreq, epoch_sec, subj) for k in _RATES}


def event_list(planted: dict[str, tuple], names: tuple[str, ...], eeg_eog: list[str],
                pop_ch: np.ndarray, sfreq: float) -> list[PlantedEvent]:
    """PlantedEvent records on the channel where each event is largest; kinds whose
    channels the montage lacks (e.g. leg movements in 'aasm') are not listed."""
    legs = [c for c in names if CHANNELS[c][1] == "leg"]
    events = []
    for kind, (starts, dur, ep, _) in planted.items():
        primary = _primary(kind, names) if kind != "pop" else ""
        if primary is None:
            continue
        for j in range(ep.size):
            if kind == "pop":
                ch = eeg_eog[pop_ch[j]]
            elif kind == "leg_movement":
                ch = legs[ep[j] % 2]
            else:
                ch = primary
            events.append(PlantedEvent(kind, ch, float(starts[j] / sfreq), float(dur[j]),
                                       int(ep[j])))
    events.sort(key=lambda ev: (ev.onset, ev.kind, ev.channel))
    return events


def ecg_signal(rng: np.random.Generator, subj: dict[str, Any], st: np.ndarray, e: int,
         sfreq: float, breaths: np.ndarray, resp_sin: np.ndarray) -> np.ndarray:
    """ECG in uV: PQRST template per beat, rate by stage, respiratory sinus arrhythmia.
    Beat times come from a 20-Hz grid (cheap) and are rounded to samples."""
    step = max(1, int(sfreq // 20))
    tg = np.arange(0, st.size * e, step) / sfreq
    hr = np.interp(tg, (np.arange(st.size) + 0.5) * e / sfreq,
                   subj["heart_rate"] * _HR_REL[st] * np.exp(rng.normal(0, 0.03, st.size)))
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
