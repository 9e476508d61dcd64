"""Planted arousals: an abrupt shift of the EEG to alpha or theta and > 16 Hz activity for
3-15 s after at least 10 s of stable sleep, with a rise of chin EMG in REM (AASM Manual
v3 arousal rule; the chin rise comes in about half of the NREM arousals too).

During an arousal the background is damped to 25-45 % (EEG desynchronisation) and
one coherent burst is added to every scalp electrode with its topography
(:mod:`app.core.synth.electrodes`): alpha largest occipitally, theta and beta everywhere
but the mastoids. People who make little alpha (``varied`` nights) arouse to theta.

Examples
--------
>>> from app.core.synth.planting import Timeline, event_rng
>>> tl = Timeline(np.full(240, 2), 30.0)
>>> found = plan_spontaneous(event_rng(2, "plan"), tl, 12.0, {"alpha_gain": 1.0})
>>> all(3 <= a.duration <= 15 and a.cause == "spontaneous" for a in found)
True
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import fft as _fft

from app.core.synth import electrodes as el
from app.core.synth.planting import Timeline, beta_between

STAGE_WEIGHT = (0.0, 1.4, 1.0, 0.5, 1.0)  # W N1 N2 N3 REM
STABLE = 10.0  # seconds of sleep, free of other events, before (and after) an arousal
_EDGE = 0.25   # seconds: the shift is abrupt


@dataclasses.dataclass(frozen=True)
class Arousal:
    """One planted arousal; ``cause`` is "spontaneous" or "respiratory"."""

    onset: float
    duration: float
    cause: str
    rhythm: str   # "alpha" or "theta": what the EEG shifts to (with beta either way)
    chin: bool    # whether chin EMG rises with it (always in REM)

    @property
    def end(self) -> float:
        return self.onset + self.duration


def draw_arousal(rng: np.random.Generator, onset: float, duration: float, cause: str,
                 stage: int, subj: dict) -> Arousal:
    """An arousal's rhythm and chin rise, for one that starts in ``stage``."""
    theta = subj["alpha_gain"] < 0.3 or rng.random() < 0.25
    chin = stage == 4 or rng.random() < 0.5
    return Arousal(onset, duration, cause, "theta" if theta else "alpha", bool(chin))


def plan_spontaneous(rng: np.random.Generator, tl: Timeline, index: float,
                     subj: dict) -> list[Arousal]:
    """Arousals with no respiratory event or limb movement nearby, Poisson around
    ``index`` per hour of sleep; each has STABLE seconds of free sleep on both sides
    (those the night has no room for are left out)."""
    n = int(rng.poisson(index * tl.sleep_hours))
    durations = np.round(beta_between(rng, 3.0, 15.0, 1.6, 3.0, n), 2)
    out = []
    for d in durations:
        t = tl.place(rng, STAGE_WEIGHT, STABLE, float(d), STABLE)
        if t is not None:
            t = round(t, 2)
            out.append(draw_arousal(rng, t, float(d), "spontaneous", tl.stage_at(t), subj))
    return out


def band_noise(rng: np.random.Generator, m: int, sfreq: float, lo: float, hi: float
               ) -> np.ndarray:
    """Unit-rms Gaussian noise of ``m`` samples band-limited to lo-hi Hz (soft edges)."""
    f = _fft.rfftfreq(m, 1.0 / sfreq)
    mask = 1.0 / (1.0 + np.exp(-(f - lo) / 0.3)) / (1.0 + np.exp((f - min(hi, 0.45 * sfreq))
                                                             / 0.3))
    spec = (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) * mask
    x = _fft.irfft(spec, n=m)
    return (x / max(float(np.sqrt(np.mean(x * x))), 1e-12)).astype(np.float32)


def _envelope(m: int, sfreq: float) -> np.ndarray:
    t = np.arange(m) / sfreq
    d = m / sfreq
    return np.clip(np.minimum(t, d - t) / _EDGE, 0.0, 1.0).astype(np.float32)


class ArousalWaves:
    """The arousals' EEG bursts and chin EMG rises, made once and added to electrodes.

    ``rng`` draws the EEG bursts; ``chin_rng(site)`` gives each chin electrode its own
    muscle noise (the same generator for the same site whatever the call order).
    """

    def __init__(self, arousals: list[Arousal], sfreq: float, subj: dict,
                 rng: np.random.Generator, chin_rng) -> None:
        self.sfreq, self.chin_rng = sfreq, chin_rng
        self.items = []
        for a in arousals:
            i0, m = int(round(a.onset * sfreq)), max(int(round(a.duration * sfreq)), 2)
            env = _envelope(m, sfreq)
            if a.rhythm == "alpha":
                fa = subj.get("alpha_freq", 10.0)
                rhythm = band_noise(rng, m, sfreq, fa - 1.0, fa + 1.0) \
                    * np.float32(rng.uniform(14.0, 26.0))
            else:
                rhythm = band_noise(rng, m, sfreq, 4.5, 7.5) * np.float32(rng.uniform(15.0, 25.0))
            beta = band_noise(rng, m, sfreq, 16.0, 30.0) * np.float32(rng.uniform(5.0, 10.0))
            damp = np.float32(rng.uniform(0.55, 0.75))
            # the chin burst: >= 1 s from near the onset, about wake tone on each site
            c0 = rng.uniform(0.0, 0.5)
            cm = int(round(rng.uniform(1.0, max(1.0, a.duration - c0 - 0.3)) * sfreq))
            c_amp = rng.uniform(0.6, 1.2) * subj["emg_tone"] / np.sqrt(2.0)
            self.items.append((a, i0, env, rhythm, beta, damp,
                               i0 + int(round(c0 * sfreq)), max(cm, 2), c_amp))

    def electrode(self, name: str, x: np.ndarray) -> None:
        """In place: the arousals as ``name`` (a scalp electrode) sees them."""
        g_alpha, g_theta = el.gain(name, "alpha"), el.gain(name, "theta")
        g_beta = el.gain(name, "beta")
        for a, i0, env, rhythm, beta, damp, *_ in self.items:
            seg = x[i0: i0 + env.size]
            k = seg.size
            g = g_alpha if a.rhythm == "alpha" else g_theta
            seg *= np.float32(1.0) - damp * env[:k]
            seg += env[:k] * (np.float32(g) * rhythm[:k] + np.float32(g_beta) * beta[:k])

    def chin(self, site: str, x: np.ndarray) -> None:
        """In place: the arousals' chin EMG rise on one chin electrode."""
        rng = self.chin_rng(site)
        for a, _, _, _, _, _, c_i0, cm, c_amp in self.items:
            if not a.chin:
                continue
            burst = band_noise(rng, cm, self.sfreq, 10.0, 100.0) * _envelope(cm, self.sfreq)
            seg = x[c_i0: c_i0 + cm]
            seg += np.float32(c_amp) * burst[: seg.size]
