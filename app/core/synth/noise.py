"""Spectrally shaped noise, envelopes and event scattering: the synthesiser's arithmetic."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import fft as _fft
from scipy.special import expit


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
