"""Calibrated confidence: temperature scaling, expected calibration error, reliability.

A model that says 90 % should be right about 9 times in 10. Temperature scaling (Guo et
al. 2017, "On Calibration of Modern Neural Networks", ICML) divides the log-probabilities
by one number T fitted on held-out data (T > 1 softens over-confident models); the most
likely stage never changes. The bundle's card stores T and the expected calibration error
(ECE: the gap between confidence and accuracy, averaged over confidence bins, weighted by
the share of epochs in each bin) before and after.

Examples
--------
>>> import numpy as np
>>> p = np.array([[0.9, 0.05, 0.05, 0, 0], [0.6, 0.4, 0, 0, 0]])
>>> apply_temperature(p, 1.0).round(2)[0, 0]
np.float32(0.9)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T) row by row; T = 1 returns ``probs`` unchanged (as float32)."""
    p = np.asarray(probs, np.float64)
    if temperature == 1.0:
        return p.astype(np.float32)
    logp = np.log(np.clip(p, 1e-12, 1.0)) / float(temperature)
    logp -= logp.max(axis=1, keepdims=True)
    q = np.exp(logp)
    return (q / q.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.asarray(probs, np.float64)[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.log(p).mean())


def fit_temperature(probs: np.ndarray, y: np.ndarray, bounds=(0.25, 10.0)) -> float:
    """The T that minimises the negative log-likelihood of the true stages ``y``."""
    y = np.asarray(y, int)
    res = minimize_scalar(lambda t: nll(apply_temperature(probs, t), y), bounds=bounds,
                          method="bounded", options={"xatol": 1e-3})
    return float(res.x)


def reliability(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (top-label reliability)."""
    p = np.asarray(probs, np.float64)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    right = pred == np.asarray(y)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        m = which == b
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(m.sum()),
                     "confidence": float(conf[m].mean()) if m.any() else None,
                     "accuracy": float(right[m].mean()) if m.any() else None})
    return {"bins": bins, "n": int(len(y))}


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE over ``n_bins`` equal-width confidence bins (0 = perfectly calibrated)."""
    rel = reliability(probs, y, n_bins)
    n = max(rel["n"], 1)
    return float(sum(b["n"] / n * abs(b["confidence"] - b["accuracy"])
                     for b in rel["bins"] if b["n"]))
