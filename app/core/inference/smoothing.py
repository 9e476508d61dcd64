"""HMM smoothing of per-epoch stage probabilities with a stage-transition prior.

The model scores each epoch on its own; sleep does not jump N3 -> REM -> N3 in 90 s.
Treating the model's probabilities as emissions and the transition matrix estimated from
real expert hypnograms (``resources/priors/stage_transitions.json``, see
:mod:`app.core.scoring.priors`) as the chain, Viterbi gives the most probable stage sequence and
forward-backward the per-epoch posteriors. Rows of NaN (unscored epochs) carry no
evidence: the chain bridges them.

Examples
--------
>>> import numpy as np
>>> T = np.full((5, 5), 0.02) + np.eye(5) * 0.9
>>> p = np.eye(5)[[2, 2, 4, 2, 2]] * 0.5 + 0.1                # one odd REM epoch
>>> viterbi(p, T / T.sum(1, keepdims=True), np.full(5, 0.2)).tolist()
[2, 2, 2, 2, 2]
"""

from __future__ import annotations

import numpy as np

# Floors keep every path possible (a perfect one-hot input must still win over the prior).
EMISSION_FLOOR = 1e-30
TRANSITION_FLOOR = 1e-8


def default_prior() -> tuple[np.ndarray, np.ndarray]:
    """``(transition 5x5, initial 5)`` from the shipped prior file."""
    from app.core.scoring.priors import load_transition_prior

    try:
        matrix, initial, _ = load_transition_prior()
    except ValueError as err:
        from app.errors import ModelError

        raise ModelError(str(err)) from err
    return matrix, initial


def stationary(transition: np.ndarray) -> np.ndarray:
    """The chain's stationary distribution: where in the night an epoch is, not knowing
    when the recording started (an excerpt need not start at lights out, in wake)."""
    t = np.asarray(transition, np.float64)
    p = np.full(t.shape[0], 1.0 / t.shape[0])
    for _ in range(10000):
        q = p @ t
        if np.abs(q - p).max() < 1e-12:
            break
        p = q
    return q / q.sum()


def _log_inputs(probabilities: np.ndarray, transition: np.ndarray | None,
                initial: np.ndarray | None, prior_weight: float, evidence_weight: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 5:
        raise ValueError(f"Probabilities must be (n_epochs, 5), not {p.shape}.")
    if transition is None or initial is None:
        t0, i0 = default_prior()
        transition = t0 if transition is None else transition
        initial = i0 if initial is None else initial
    t = np.asarray(transition, dtype=np.float64)
    i = np.asarray(initial, dtype=np.float64)
    if t.shape != (5, 5) or i.shape != (5,):
        raise ValueError("The transition matrix must be 5x5 and the initial vector 5 long.")
    if not prior_weight >= 0:
        raise ValueError(f"prior_weight must be >= 0, not {prior_weight}.")
    if not evidence_weight > 0:
        raise ValueError(f"evidence_weight must be > 0, not {evidence_weight}.")
    t = np.maximum(t, 0) + TRANSITION_FLOOR
    t /= t.sum(axis=1, keepdims=True)
    i = np.maximum(i, 0) + TRANSITION_FLOOR
    i /= i.sum()
    unscored = ~np.isfinite(p).all(axis=1)
    p = np.where(unscored[:, None], 1.0, np.clip(np.nan_to_num(p), 0, None))
    log_e = np.log(np.maximum(p / p.sum(axis=1, keepdims=True), EMISSION_FLOOR))
    # prior_weight scales the chain against the evidence: 0 = argmax of the input
    return evidence_weight * log_e, prior_weight * np.log(t), prior_weight * np.log(i)


def viterbi(probabilities: np.ndarray, transition: np.ndarray | None = None,
            initial: np.ndarray | None = None, *, prior_weight: float = 1.0) -> np.ndarray:
    """Most probable stage sequence (int8, 0..4) given per-epoch probabilities.

    Parameters
    ----------
    probabilities : (n, 5) array
        Per-epoch probabilities over W, N1, N2, N3, REM (NaN rows: no evidence).
    transition, initial : arrays, optional
        5x5 row-stochastic transition matrix and initial distribution; default the
        shipped prior.
    prior_weight : float
        Exponent on the prior: 0 ignores it, 1 is the plain HMM, more smooths harder.
    """
    log_e, log_t, log_i = _log_inputs(probabilities, transition, initial, prior_weight)
    n = log_e.shape[0]
    if n == 0:
        return np.zeros(0, np.int8)
    back = np.zeros((n, 5), np.int8)
    score = log_i + log_e[0]
    for k in range(1, n):
        cand = score[:, None] + log_t          # (from, to)
        back[k] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_e[k]
    path = np.empty(n, np.int8)
    path[-1] = int(score.argmax())
    for k in range(n - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


def forward_backward(probabilities: np.ndarray, transition: np.ndarray | None = None,
                     initial: np.ndarray | None = None, *, prior_weight: float = 1.0,
                     evidence_weight: float = 1.0) -> np.ndarray:
    """Per-epoch posterior stage probabilities (n, 5) float32 under the HMM.

    ``evidence_weight`` is an exponent on the model's probabilities (below 1: trust each
    epoch's picture less than the model's own confidence says)."""
    log_e, log_t, log_i = _log_inputs(probabilities, transition, initial, prior_weight,
                                      evidence_weight)
    n = log_e.shape[0]
    if n == 0:
        return np.zeros((0, 5), np.float32)
    # scaled forward-backward in probability space: stable for any night length
    e = np.exp(log_e - log_e.max(axis=1, keepdims=True))
    t, i0 = np.exp(log_t), np.exp(log_i)
    alpha = np.empty((n, 5))
    a = i0 * e[0]
    alpha[0] = a / a.sum()
    for k in range(1, n):
        a = (alpha[k - 1] @ t) * e[k]
        alpha[k] = a / a.sum()
    beta = np.ones(5)
    post = np.empty((n, 5))
    post[-1] = alpha[-1]
    for k in range(n - 2, -1, -1):
        beta = t @ (e[k + 1] * beta)
        beta /= beta.sum()
        g = alpha[k] * beta
        post[k] = g / g.sum()
    return post.astype(np.float32)


def smooth_hypnogram(hyp, *, transition: np.ndarray | None = None,
                     initial: np.ndarray | None = None, prior_weight: float = 1.0):
    """A copy of a model Hypnogram whose stages are the Viterbi path.

    Probabilities are kept as the model gave them (what the technician sees); epochs that
    were not scored stay Unscored.
    """
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.scoring.stages import Stage

    if hyp.probabilities is None:
        raise ValueError("Smoothing needs model probabilities; this hypnogram has none.")
    scored = np.isfinite(hyp.probabilities).all(axis=1)
    path = viterbi(hyp.probabilities, transition, initial, prior_weight=prior_weight)
    stages = np.where(scored, path, int(Stage.UNSCORED)).astype(np.int8)
    meta = {**hyp.meta, "smoothed": {"method": "viterbi", "prior_weight": prior_weight,
                                     "changed": int((stages != hyp.stages).sum())}}
    return Hypnogram(stages, epoch_sec=hyp.epoch_sec, start_time=hyp.start_time,
                     probabilities=hyp.probabilities, sources=hyp.sources, scorer=hyp.scorer,
                     source=hyp.source, meta=meta)
