"""Per-epoch measurements of a channel for the input check, and the training statistics
a model bundle carries so the check can say how unlike its training data an epoch is.

``epoch_features`` measures each 30-s epoch of one channel: rms, share of NaN/inf,
share of clipped samples, share of power at the mains frequencies, log band powers, and
the slow (0.5-2 Hz) waveform at 2 Hz (to compare the polarity of leads).

``FeatureReference`` holds, per slot, the mean and covariance of the log band powers over
the model's training epochs and the 99.9th percentile of their Mahalanobis distance; an
epoch beyond that on some slot is "unlike the training data" (unlikeness > 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

BANDS = ((0.5, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0), (16.0, 30.0))
EMG_BANDS = ((10.0, 30.0), (30.0, 60.0))
SLOW_RATE = 2.0


def _band_powers(x: np.ndarray, sfreq: float, bands) -> np.ndarray:
    """log10 power (uV^2) per band from one periodogram per epoch; NaN when out of range."""
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, 1 / sfreq)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), axis=-1)) ** 2 / (sfreq * n * 0.375)
    out = np.full((x.shape[0], len(bands)), np.nan)
    for j, (lo, hi) in enumerate(bands):
        m = (f >= lo) & (f < hi)
        if hi <= sfreq / 2 and m.any():
            out[:, j] = np.log10(spec[:, m].sum(axis=1) * (f[1] - f[0]) + 1e-6)
    return out


def epoch_features(x: np.ndarray, sfreq: float, kind: str,
                   clip_limits: list[tuple[float, float]] | None = None) -> dict[str, np.ndarray]:
    """Measurements of each epoch (rows of ``x``, microvolts) of one channel."""
    x = np.asarray(x, np.float64)
    finite = np.isfinite(x)
    nonfinite = 1.0 - finite.mean(axis=1)
    z = np.where(finite, x, 0.0)
    mean = np.where(finite.any(axis=1), z.sum(1) / np.maximum(finite.sum(1), 1), 0.0)
    zc = np.where(finite, x - mean[:, None], 0.0)
    rms = np.sqrt((zc ** 2).sum(1) / np.maximum(finite.sum(1), 1))
    clipped = np.zeros(x.shape[0])
    for lo, hi in clip_limits or []:
        step = (hi - lo) / 65535.0
        clipped = np.maximum(clipped, ((x <= lo + step) | (x >= hi - step)).mean(axis=1))
    if kind == "emg" and sfreq < 20:  # an rms envelope: its level is the measurement
        with np.errstate(all="ignore"):
            level = np.nanmedian(np.where(finite, x, np.nan), axis=1)
        rms = np.where(np.ptp(z, axis=1) > 0, np.nan_to_num(level), 0.0)  # constant = flat
        bands = np.log10(np.maximum(np.nan_to_num(level), 1e-3))[:, None] * 2
        line = np.zeros(x.shape[0])
    else:
        bands = _band_powers(zc, sfreq, EMG_BANDS if kind == "emg" else BANDS)
        line = _line_share(zc, sfreq)
    slow = _slow(zc, sfreq) if kind == "eeg" else np.zeros((x.shape[0], 0))
    return {"rms": rms, "nonfinite": nonfinite, "clipped": clipped, "line": line,
            "bands": bands, "slow": slow.reshape(-1)}


def _line_share(x: np.ndarray, sfreq: float) -> np.ndarray:
    """Share of the power above 1 Hz that sits within 1 Hz of 50 or 60 Hz."""
    n = x.shape[-1]
    f = np.fft.rfftfreq(n, 1 / sfreq)
    p = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    total = p[:, f > 1].sum(axis=1) + 1e-12
    hum = np.zeros(x.shape[0])
    for mains in (50.0, 60.0):
        m = np.abs(f - mains) <= 1.0
        if mains < sfreq / 2 and m.any():
            hum = np.maximum(hum, p[:, m].sum(axis=1))
    return hum / total


def _slow(x: np.ndarray, sfreq: float) -> np.ndarray:
    """The 0.5-2 Hz waveform of each epoch at 2 Hz (for comparing leads' polarity)."""
    sos = sps.butter(2, [0.5, min(2.0, 0.45 * sfreq)], "bandpass", fs=sfreq, output="sos")
    y = sps.sosfiltfilt(sos, x, axis=-1)
    step = max(int(round(sfreq / SLOW_RATE)), 1)
    return y[:, ::step]


@dataclass
class FeatureReference:
    """Training statistics per slot: mean, inverse covariance and the 99.9% distance."""

    slots: dict[str, dict]

    @classmethod
    def fit(cls, per_slot: dict[str, np.ndarray], quantile: float = 0.999) -> FeatureReference:
        """From training epochs' log band powers, ``{slot: (n_epochs, n_bands)}``."""
        slots = {}
        for slot, b in per_slot.items():
            b = b[np.isfinite(b).all(axis=1)]
            if b.shape[0] < 50:
                continue
            mean = b.mean(axis=0)
            cov = np.cov(b, rowvar=False) + 1e-3 * np.eye(b.shape[1])
            inv = np.linalg.inv(cov)
            d2 = np.einsum("ij,jk,ik->i", b - mean, inv, b - mean)
            slots[slot] = {"mean": mean.round(5).tolist(), "cov": cov.round(6).tolist(),
                           "threshold": float(np.quantile(d2, quantile)),
                           "n_epochs": int(b.shape[0])}
        return cls(slots)

    def to_dict(self) -> dict:
        return {"features": "log10 band power per 30-s epoch", "bands_hz": [list(b) for b in BANDS],
                "emg_bands_hz": [list(b) for b in EMG_BANDS], "quantile": 0.999,
                "slots": self.slots}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureReference:
        return cls(dict(d.get("slots", {})))

    def unlikeness(self, feats: dict[str, dict]) -> np.ndarray | None:
        """Per epoch: the largest Mahalanobis distance over slots / that slot's threshold."""
        scores = []
        for slot, f in feats.items():
            ref = self.slots.get(slot)
            b = f["bands"]
            if ref is None or b.shape[1] != len(ref["mean"]):
                continue
            mean, cov = np.asarray(ref["mean"]), np.asarray(ref["cov"])
            d2 = np.zeros(b.shape[0])
            finite = np.isfinite(b)
            # bands a low sampling rate cannot hold are left out: the distance is taken on
            # the bands the epoch has (the marginal distribution), its threshold scaled
            for pattern in np.unique(finite, axis=0):
                rows = (finite == pattern).all(axis=1)
                keep = np.flatnonzero(pattern)
                if keep.size == 0:
                    continue
                inv = np.linalg.inv(cov[np.ix_(keep, keep)])
                diff = b[np.ix_(rows, keep)] - mean[keep]
                d2[rows] = np.einsum("ij,jk,ik->i", diff, inv, diff) * (len(mean) / keep.size)
            scores.append(d2 / ref["threshold"])
        return np.max(scores, axis=0) if scores else None
