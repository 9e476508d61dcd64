"""Temperature scaling and calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.inference.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability,
)


def _overconfident(n: int = 4000, true_t: float = 2.5, seed: int = 0):
    """Labels drawn from softmax(z); the model reports softmax(z * true_t)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, (n, 5))
    p_true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p_true])
    reported = np.exp(z * true_t)
    return reported / reported.sum(1, keepdims=True), y


def test_fitted_temperature_recovers_the_overconfidence():
    p, y = _overconfident()
    t = fit_temperature(p, y)
    assert 2.1 < t < 2.9
    before, after = expected_calibration_error(p, y), expected_calibration_error(
        apply_temperature(p, t), y)
    assert before > 0.1 and after < 0.03


def test_temperature_never_changes_the_stage_and_rows_sum_to_one():
    p, _ = _overconfident(200)
    q = apply_temperature(p, 3.0)
    assert np.array_equal(q.argmax(1), p.argmax(1))
    assert np.allclose(q.sum(1), 1, atol=1e-5) and q.max() < p.max()
    assert np.allclose(apply_temperature(p, 1.0), p, atol=1e-6)


def test_reliability_bins_count_every_epoch():
    p, y = _overconfident(500)
    rel = reliability(p, y, n_bins=10)
    assert sum(b["n"] for b in rel["bins"]) == 500
    assert all(b["confidence"] is None or b["lo"] <= b["confidence"] <= b["hi"]
               for b in rel["bins"])


@pytest.mark.parametrize("t", [0.0, -1.0, 100.0, "abc", True])
def test_a_card_with_a_bad_temperature_is_refused(tmp_path, t):
    import json

    from models import full_bundle

    from app.core.inference.bundle import load_bundle
    from app.errors import ModelError

    b = full_bundle(tmp_path)
    card = json.loads((b / "model_card.json").read_text())
    card["calibration"] = {"temperature": t}
    (b / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="temperature"):
        load_bundle(b)
