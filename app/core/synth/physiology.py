"""Physiology of the synthetic sleeper: per-stage band powers, event rates, and the
subject's own parameters (age, alpha, spindles, slow waves, eyes, heart).

Amplitudes are microvolts at the active electrode against a quiet (mastoid) reference,
so ``C4 - M1`` reproduces a clinical C4-M1 derivation. Sources are given beside each
table; the ranges of the per-subject draws are typical adult values, widened on purpose
so that a model trained on them meets the spread of real labs and people.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STAGE_LABELS = ("W", "N1", "N2", "N3", "REM")

# Background rms (uV) per stage at C4-M1 for the noise bands below, tuned so typical
# mastoid-referenced epochs have std ~12-20 uV in W/REM, ~20-30 in N2 and 40-70 in N3,
# with relative band powers close to published sleep spectra (e.g. Vallat & Walker 2021,
# Fig. 2; aperiodic exponent steeper in deep NREM, Lendner et al. 2020).
BANDS = ("flat", "steep", "delta", "theta", "sigma", "beta")
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
# Chin EMG rms (uV, 10-100 Hz) relative to wake tone: REM atonia is the lowest of the
# night (AASM REM rule), NREM tone intermediate.
EMG_REL = np.array([1.0, 0.5, 0.4, 0.35, 0.15])
HR_REL = np.array([1.0, 0.97, 0.93, 0.90, 0.99])    # heart rate vs wake (Trinder 2001)
RESP_REL = np.array([1.05, 1.0, 0.97, 0.95, 1.05])  # breathing rate vs base (Douglas 1982)
# Events per epoch by stage (W, N1, N2, N3, REM). Spindle density 2-7/min in N2
# (Purcell 2017); K-complexes ~1/min in N2; blinks 10-20/min awake; REM bursts phasic.
RATES = {
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
    "sweat":     [0.02, 0.02, 0.04, 0.04, 0.02],
}
# Awake eyes of varied subjects only, drawn from their own random stream so the clean
# default night stays byte-identical (the embedded model's first versions trained on it).
WAKE_EYE_RATES = {
    # looking up and down: the vertical dipole that dominates frontopolar leads awake
    "vsaccade":  [2.0, 0.05, 0.0, 0.0, 0.0],
    # runs of quick lid and eye jerks at 2-4 Hz (blink flutter, reading), frontopolar
    "flutter":   [0.5, 0.02, 0.0, 0.0, 0.0],
}
DURATIONS = {  # (min, max) seconds
    "spindle": (0.5, 2.0), "k_complex": (0.6, 1.0), "vertex": (0.2, 0.4),
    "delta": (4.0, 12.0), "alpha": (2.0, 9.0), "sawtooth": (1.5, 4.0), "blink": (0.3, 0.4),
    "saccade": (1.0, 2.5), "vsaccade": (0.6, 2.0), "flutter": (1.0, 4.0),
    "slow_eye": (2.0, 5.0), "rem": (0.5, 1.5), "twitch": (0.05, 0.25),
    "movement": (2.0, 10.0), "leg_movement": (0.5, 5.0), "pop": (0.5, 1.5),
    "sweat": (8.0, 24.0),
}

# Age effects (adults): slow-wave amplitude and spindle density fall with age (Carrier
# et al. 2011, Eur J Neurosci 33:758 - slow-wave amplitude lower from the 20s to the 50s;
# Martin et al. 2013, Neurobiol Aging 34:468 - spindle density and amplitude lower with
# age; Landolt et al. 1996, Brain Res 738:205 - SWA lower in middle-aged men).


def slow_wave_age_factor(age: float) -> float:
    """Slow-wave amplitude relative to a 35-year-old (1.15 at 20, 0.65 at 60)."""
    return float(np.clip(1.4 - 0.0125 * age, 0.45, 1.2))


def spindle_age_factor(age: float) -> float:
    """Spindle density relative to a 35-year-old (1.1 at 20, 0.7 at 70)."""
    return float(np.clip(1.3 - 0.0085 * age, 0.6, 1.15))


# A subject's awake EEG as drawn (multipliers of 1): W's beta background, the scalp
# muscle it picks up and its alpha background, in W epochs only.
QUIET_AS_DRAWN = {"wake_beta": 1.0, "wake_muscle": 1.0, "wake_alpha": 1.0}


def draw_quiet_wake(seed: int) -> dict[str, float]:
    """Multipliers for a quietly awake person: lying still, relaxed, eyes mostly open.

    Real Sleep-EDF wake (SC4001E0, lights on; ``bench/synth_realism.py``) has 2-3x less
    alpha, sigma and beta than our varied W at Fpz-Cz and Pz-Oz, and its Pz-Oz is quieter
    than every varied subject's: the W the model learnt was loud (scalp muscle, beta,
    alpha) and a quiet real wake read as N2 or REM on a lone lead. The draws span about
    0.15-1x, so quiet and ordinary wake both stay in training. They come from their own
    stream (``seed``), so the rest of the night is the night the seed always gave.

    Examples
    --------
    >>> q = draw_quiet_wake(3)
    >>> sorted(q) == sorted(QUIET_AS_DRAWN) and all(0 < v <= 1 for v in q.values())
    True
    """
    rng = np.random.default_rng([int(seed), 0x57A4E])
    # lognormal around a median of about half, capped at the subject's ordinary wake
    med = {"wake_beta": 0.5, "wake_muscle": 0.35, "wake_alpha": 0.4}
    return {k: float(min(1.0, m * np.exp(rng.normal(0.0, 0.5)))) for k, m in med.items()}


def draw_subject(rng: np.random.Generator, seed: int, *, varied: bool = False,
                 ages: tuple[int, int] | None = None) -> dict[str, Any]:
    """Subject parameters; ranges are typical adult values (see module constants).

    ``varied`` widens every range to the spread of real people and labs (ages 18-85,
    people without alpha, small and large blinks, ECG in the EEG, sweat), for training.
    ``ages`` (first, last year, inclusive) draws the age from that range instead; with
    ``varied`` the age effects follow (training draws more older sleepers this way).
    """
    u = rng.uniform
    lo_age, hi_age = (18, 86) if varied else (20, 71)
    if ages is not None:
        lo_age, hi_age = int(ages[0]), int(ages[1]) + 1
    age = int(rng.integers(lo_age, hi_age))
    sw, sp = slow_wave_age_factor(age), spindle_age_factor(age)
    spread = 1.8 if varied else 1.0
    subj = {
        "seed": seed, "age": age, "male": bool(u() < 0.5),
        "eeg_gain": float(np.exp(rng.normal(0.0, 0.15))),
        "bg_exponent": float(u(1.4, 1.9)),          # 1/f^a power-law of the flat background
        "alpha_freq": float(u(8.5, 11.5) - (0.015 * max(age - 40, 0) if varied else 0.0)),
        "alpha_gain": float(np.exp(rng.normal(0.0, 0.3 * spread))),
        "spindle_freq": float(u(12.0, 14.5)),       # AASM spindles 11-16 Hz
        "spindle_amp": float(u(20.0, 40.0) * (np.sqrt(sp) if varied else 1.0)),
        "spindle_density": float(np.exp(rng.normal(0.0, 0.3)) * (sp if varied else 1.0)),
        "kc_amp": float(u(90.0, 160.0) * (np.sqrt(sw) if varied else 1.0)),
        "delta_gain": float(np.exp(rng.normal(0.0, 0.12)) * (sw if varied else 1.0)),
        "emg_tone": float(u(6.0, 18.0)),            # chin rms in wake, uV
        "heart_rate": float(u(55.0, 78.0)),
        "ecg_amp": float(u(600.0, 1500.0)),
        "resp_rate": float(u(12.0, 17.0)),          # breaths per minute
        "spo2": float(u(95.0, 98.5)),
        "line_freq": 50.0 if u() < 0.5 else 60.0,
        "line_amp": float(u(0.2, 2.0)),
        "eyes_closed": float(u(0.4, 0.8)),          # share of W epochs with eyes closed
        "blink_gain": 1.0, "eye_gain": 1.0, "ecg_pickup": 1.0, "pop_rate": 1.0,
        "sweat_rate": 0.0, "eye_activity": 1.0, "eye_seed": None,
        **QUIET_AS_DRAWN,
    }
    if varied:
        if u() < 0.1:  # about one adult in ten produces little or no alpha (Niedermeyer)
            subj["alpha_gain"] *= 0.12
        subj.update(
            emg_tone=float(u(3.0, 30.0)),
            eyes_closed=float(u(0.05, 0.9)),
            blink_gain=float(np.exp(rng.normal(0.0, 0.4))),
            eye_gain=float(np.exp(rng.normal(0.0, 0.35))),
            ecg_pickup=float(np.exp(rng.normal(0.5, 0.8))),   # up to ~10x the quiet default
            pop_rate=float(np.exp(rng.normal(0.0, 1.0))),
            sweat_rate=float(u() < 0.25) * float(np.exp(rng.normal(0.0, 0.7))),
            line_amp=float(np.exp(rng.normal(0.3, 1.0))),
        )
        # how much an awake person looks around (a patient reading or watching vs lying
        # still): scales eyes-open saccades, horizontal and vertical
        subj["eye_activity"] = float(np.exp(rng.normal(0.2, 0.6)))
        subj["eye_seed"] = int(rng.integers(2**31))
    return subj
