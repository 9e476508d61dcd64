"""HMM/Viterbi smoothing with the stage-transition prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED_DATA

from app.core.inference.smoothing import (
    default_prior,
    forward_backward,
    smooth_hypnogram,
    viterbi,
)
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.stages import Stage


def _real_night() -> np.ndarray:
    """A real expert hypnogram (DOD-H) when ../shared/data is there, else a sampled night."""
    files = sorted((SHARED_DATA / "hypnograms" / "dod" / "dodh").rglob("*.json"))
    if files:
        h = np.asarray(json.loads(files[0].read_text()))
        return h[h >= 0]
    from app.core.scoring.priors import sample_night

    return sample_night(900, np.random.default_rng(0))


def _noisy(truth: np.ndarray, seed: int = 0, signal: float = 1.2) -> np.ndarray:
    """Probabilities peaked on the truth, with enough noise that argmax is often wrong."""
    rng = np.random.default_rng(seed)
    logits = signal * np.eye(5)[truth] + rng.normal(0, 1.0, (truth.size, 5))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def test_smoothing_increases_accuracy_on_a_real_night():
    truth = _real_night()
    p = _noisy(truth)
    raw = (p.argmax(axis=1) == truth).mean()
    smooth = (viterbi(p) == truth).mean()
    posterior = (forward_backward(p).argmax(axis=1) == truth).mean()
    assert raw < 0.75, "the test needs noisy input to mean anything"
    assert smooth > raw + 0.1
    assert posterior > raw + 0.1


def test_a_perfect_input_is_unchanged():
    truth = _real_night()
    onehot = np.eye(5)[truth]
    assert np.array_equal(viterbi(onehot), truth)
    assert np.array_equal(forward_backward(onehot).argmax(axis=1), truth)
    # including transitions the prior calls (nearly) impossible
    odd = np.array([3, 3, 4, 3, 0, 3])
    assert np.array_equal(viterbi(np.eye(5)[odd]), odd)


def test_prior_weight_zero_is_argmax_and_more_weight_smooths_harder():
    p = _noisy(_real_night(), seed=1)
    assert np.array_equal(viterbi(p, prior_weight=0.0), p.argmax(axis=1))
    changes = [np.count_nonzero(np.diff(viterbi(p, prior_weight=w))) for w in (0.5, 1, 3)]
    assert changes[0] >= changes[1] >= changes[2]


def test_forward_backward_posteriors_are_distributions():
    p = _noisy(_real_night()[:200], seed=2)
    post = forward_backward(p)
    assert post.shape == p.shape and post.dtype == np.float32
    assert np.allclose(post.sum(axis=1), 1, atol=1e-5) and (post >= 0).all()


def test_unscored_rows_are_bridged():
    p = np.eye(5)[[2, 2, 2, 2, 2, 2]].astype(float)
    p[2:4] = np.nan
    assert viterbi(p).tolist() == [2] * 6
    assert np.isfinite(forward_backward(p)).all()


def test_explicit_matrix_and_bad_shapes():
    t = np.full((5, 5), 0.02) + np.eye(5) * 0.9
    t /= t.sum(axis=1, keepdims=True)
    p = np.eye(5)[[2, 2, 4, 2, 2]] * 0.5 + 0.1
    assert viterbi(p, t, np.full(5, 0.2)).tolist() == [2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="n_epochs, 5"):
        viterbi(np.ones((4, 3)))
    with pytest.raises(ValueError, match="5x5"):
        viterbi(p, np.eye(4), np.full(4, 0.25))
    assert viterbi(np.zeros((0, 5))).shape == (0,)


def test_shipped_prior_is_a_stochastic_matrix():
    t, i = default_prior()
    assert t.shape == (5, 5) and np.allclose(t.sum(axis=1), 1) and np.isclose(i.sum(), 1)


def test_smooth_hypnogram_keeps_probabilities_and_unscored_epochs():
    truth = _real_night()[:120]
    p = _noisy(truth, seed=3).astype(np.float32)
    p[100:] = np.nan
    stages = np.where(np.isnan(p).any(axis=1), int(Stage.UNSCORED), np.nan_to_num(p).argmax(1))
    hyp = Hypnogram(stages, probabilities=p, source=Source.MODEL, scorer="m/1")
    out = smooth_hypnogram(hyp)
    assert (out.stages[100:] == Stage.UNSCORED).all()
    assert np.array_equal(out.probabilities, hyp.probabilities, equal_nan=True)
    assert out.scorer == "m/1" and out.meta["smoothed"]["method"] == "viterbi"
    assert (out.stages[:100] == truth[:100]).mean() > (stages[:100] == truth[:100]).mean()
