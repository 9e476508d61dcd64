"""Whole-night smoothing fitted for one model: how its stages use the night around each epoch.

The model reads one 30-s picture at a time; a technician never does. Forward-backward
over the stage-transition prior from real expert hypnograms (:mod:`.smoothing`) turns
the model's per-epoch probabilities into per-epoch posteriors given the whole night.
Three numbers, fitted on held-out nights for each model (``python -m training smoothing
CONFIG``) and kept in its card's ``smoothing`` section, say how:

- ``prior_weight``: how strongly the chain pulls (0: no smoothing);
- ``evidence_weight``: an exponent on the model's probabilities (below 1: each picture is
  trusted less than the model's own confidence says);
- ``temperature``: on the posterior, so that its confidence is calibrated again.

The chain starts from its stationary distribution, not from "recordings start awake":
an excerpt may begin anywhere in the night. A bundle whose card has no such section is
not smoothed. Epochs the model did not stage
(NaN rows) stay unstaged: the chain bridges them. Epochs whose confidence the input check
capped keep the cap: neighbours may change their stage, never make them confident.

Examples
--------
>>> import numpy as np
>>> p = np.eye(5)[[2, 2, 4, 2, 2]] * 0.5 + 0.1          # one odd REM epoch inside N2
>>> NightSmoothing(prior_weight=1.0).posteriors(p).argmax(1).tolist()
[2, 2, 2, 2, 2]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from app.core.inference.smoothing import default_prior, forward_backward, stationary

FIT_PRIOR_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5)
FIT_EVIDENCE_WEIGHTS = (0.2, 0.3, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class NightSmoothing:
    """A model's fitted whole-night smoothing (see the module docstring)."""

    prior_weight: float = 1.0
    evidence_weight: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        for name, lo, hi in (("prior_weight", 0.0, 10.0), ("evidence_weight", 0.01, 10.0),
                             ("temperature", 0.05, 20.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or not lo <= value <= hi:
                raise ValueError(f"smoothing {name} must be a number from {lo:g} to {hi:g}, "
                                 f"not {value!r}.")

    @classmethod
    def from_card(cls, section: Mapping | None) -> NightSmoothing | None:
        """The card's ``smoothing`` section, or None where it has none (not smoothed)."""
        if section is None:
            return None
        if not isinstance(section, Mapping):
            raise ValueError("The card's 'smoothing' must be an object with prior_weight, "
                             "evidence_weight and temperature.")
        return cls(**{k: section[k] for k in ("prior_weight", "evidence_weight", "temperature")
                      if k in section})

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for a file header or the model panel."""
        return (f"stages use the whole night: the model's probabilities smoothed with the "
                f"stage-transition prior of real expert hypnograms (forward-backward; prior "
                f"weight {self.prior_weight:g}, evidence weight {self.evidence_weight:g}, "
                f"temperature {self.temperature:g})")

    def posteriors(self, probabilities: np.ndarray, *, capped: np.ndarray | None = None,
                   cap: float | None = None) -> np.ndarray:
        """Per-epoch posteriors (n, 5) float32; NaN rows stay NaN.

        ``capped`` (bool, n): epochs whose confidence the input check capped; their
        posterior is tempered to the same cap (``cap``: the check's, by default)."""
        p = np.asarray(probabilities, np.float32)
        if p.ndim != 2 or p.shape[1] != 5:
            raise ValueError(f"Probabilities must be (n_epochs, 5), not {p.shape}.")
        staged = np.isfinite(p).all(axis=1)
        out = np.full(p.shape, np.nan, np.float32)
        if not staged.any():
            return out
        transition, start = _chain()
        # no assumption that the recording starts at lights out: excerpts start anywhere
        post = forward_backward(p, transition, start,
                                prior_weight=self.prior_weight,
                                evidence_weight=self.evidence_weight).astype(np.float64)
        post = np.maximum(post, 1e-12) ** (1.0 / self.temperature)
        post /= post.sum(axis=1, keepdims=True)
        out[staged] = post[staged]
        if capped is not None:
            from app.core.signals.quality import MAX_CONFIDENCE_UNLIKE, temper

            mask = np.asarray(capped, bool) & staged
            if mask.any():
                out[mask] = temper(out[mask], MAX_CONFIDENCE_UNLIKE if cap is None else cap)
        return out


@functools.lru_cache(maxsize=1)
def _chain() -> tuple[np.ndarray, np.ndarray]:
    """The shipped transition prior and its stationary distribution (read once)."""
    transition, _ = default_prior()
    return transition, stationary(transition)


def restage(smoothing: NightSmoothing, stages: np.ndarray, probabilities: np.ndarray,
            capped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A run's shown ``(stages, probabilities)`` from the model's own: staged epochs
    (stage >= 0) get the posterior and its argmax; the others are left as they are."""
    staged = np.asarray(stages) >= 0
    post = smoothing.posteriors(np.where(staged[:, None], probabilities, np.nan),
                                capped=capped)
    new_stages = np.array(stages, copy=True)
    new_probs = np.array(probabilities, dtype=np.float32, copy=True)
    new_probs[staged] = post[staged]
    new_stages[staged] = post[staged].argmax(axis=1)
    return new_stages, new_probs


def _nll_ece(post: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    from app.core.inference.calibration import expected_calibration_error, nll

    return nll(post, y), float(np.mean(post.argmax(1) == y)), \
        expected_calibration_error(post, y)


def fit_night_smoothing(nights: Sequence[tuple[np.ndarray, np.ndarray]]
                        ) -> tuple[NightSmoothing, dict]:
    """Fit the three numbers on whole nights ``(probabilities (n, 5), true stages (n,))``.

    The weights are chosen by the posteriors' negative log-likelihood over a small grid;
    then a temperature on the posterior by NLL. Returns the fit and its figures on these
    nights (measure on other nights before trusting them)."""
    from app.core.inference.calibration import fit_temperature

    if not nights:
        raise ValueError("Fitting the smoothing needs at least one scored night.")
    best = None
    for w in FIT_PRIOR_WEIGHTS:
        for a in FIT_EVIDENCE_WEIGHTS:
            s = NightSmoothing(w, a)
            post, y = pooled_posteriors(s, nights)
            nll = _nll_ece(post, y)[0]
            if best is None or nll < best[0]:
                best = (nll, s, post, y)
    _, s, post, y = best
    temperature = fit_temperature(post, y)
    fitted = NightSmoothing(s.prior_weight, s.evidence_weight, round(float(temperature), 4))
    return fitted, measure(fitted, nights)


def pooled_posteriors(s: NightSmoothing, nights) -> tuple[np.ndarray, np.ndarray]:
    posts, ys = [], []
    for p, y in nights:
        post = s.posteriors(p)
        ok = np.isfinite(post).all(axis=1) & (np.asarray(y) >= 0)
        posts.append(post[ok])
        ys.append(np.asarray(y)[ok])
    return np.concatenate(posts), np.concatenate(ys).astype(np.int64)


def measure(s: NightSmoothing, nights) -> dict:
    """Accuracy, NLL and ECE of the raw probabilities and of the smoothed posteriors."""
    raw, y = pooled_posteriors(NightSmoothing(prior_weight=0.0), nights)
    post, _ = pooled_posteriors(s, nights)
    r, m = _nll_ece(raw, y), _nll_ece(post, y)
    per_night = []
    for p, t in nights:
        a, b = pooled_posteriors(NightSmoothing(prior_weight=0.0), [(p, t)]), pooled_posteriors(s, [(p, t)])
        per_night.append((float(np.mean(a[0].argmax(1) == a[1])),
                          float(np.mean(b[0].argmax(1) == b[1]))))
    return {"n_nights": len(nights), "n_epochs": int(y.size),
            "raw": {"accuracy": r[1], "nll": r[0], "ece": r[2]},
            "smoothed": {"accuracy": m[1], "nll": m[0], "ece": m[2]},
            "nights_better": sum(b > a for a, b in per_night),
            "nights_worse": sum(b < a for a, b in per_night)}
