"""A model's fitted whole-night smoothing: the fit, the posteriors, and where it applies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from models import full_bundle, study

from app.core.inference.night_smoothing import NightSmoothing, fit_night_smoothing, measure
from app.core.scoring.priors import sample_night
from app.core.signals.quality import MAX_CONFIDENCE_UNLIKE


def _overconfident(truth: np.ndarray, seed: int) -> np.ndarray:
    """A model that is right ~60 % of the time and says 80-95 %: what the fit must tame."""
    rng = np.random.default_rng(seed)
    logits = 1.0 * np.eye(5)[truth] + rng.normal(0, 1.0, (truth.size, 5))
    return np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)


def _nights(seed: int, n: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        truth = sample_night(900, rng)
        out.append((_overconfident(truth, seed + k).astype(np.float32), truth))
    return out


def test_the_fit_raises_accuracy_and_calibrates_on_other_nights():
    fitted, on_fit = fit_night_smoothing(_nights(0))
    held = measure(fitted, _nights(100))
    assert held["raw"]["accuracy"] < 0.75, "the test needs a model that is often wrong"
    assert held["smoothed"]["accuracy"] > held["raw"]["accuracy"] + 0.05
    assert held["raw"]["ece"] > 0.15           # the raw model is overconfident ...
    assert held["smoothed"]["ece"] < 0.06      # ... the fitted posterior is not
    assert held["nights_better"] == 4 and held["nights_worse"] == 0
    assert fitted.evidence_weight < 1 and fitted.prior_weight > 0
    assert on_fit["n_nights"] == 4 and on_fit["n_epochs"] == 3600


def test_unstaged_epochs_stay_unstaged_and_are_bridged():
    p = np.eye(5, dtype=np.float32)[[2, 2, 2, 2, 2, 2]] * 0.6 + 0.08
    p[2] = np.nan
    post = NightSmoothing().posteriors(p)
    assert np.isnan(post[2]).all()
    assert (post[[0, 1, 3, 4, 5]].argmax(axis=1) == 2).all()
    assert np.allclose(np.nansum(post, axis=1)[[0, 1, 3, 4, 5]], 1, atol=1e-5)
    assert np.isnan(NightSmoothing().posteriors(np.full((3, 5), np.nan))).all()


def test_capped_epochs_keep_the_input_checks_cap():
    p = np.eye(5, dtype=np.float32)[[3] * 8] * 0.9 + 0.02   # a confident N3 stretch
    capped = np.zeros(8, bool)
    capped[4] = True
    post = NightSmoothing().posteriors(p, capped=capped)
    assert post[4].max() <= MAX_CONFIDENCE_UNLIKE + 1e-6 and post[4].argmax() == 3
    assert post[3].max() > 0.95


def test_no_prior_is_the_model_itself():
    p = _overconfident(sample_night(200, np.random.default_rng(1)), 1)
    post = NightSmoothing(prior_weight=0.0).posteriors(p)
    assert np.allclose(post, p, atol=1e-5)


@pytest.mark.parametrize("section, words", [
    ({"prior_weight": -1}, "prior_weight must be a number from 0 to 10"),
    ({"evidence_weight": "high"}, "evidence_weight must be a number"),
    ({"temperature": float("nan")}, "temperature must be a number"),
    ({"temperature": True}, "temperature must be a number"),
    ("hmm", "must be an object"),
])
def test_a_card_section_psg_lens_cannot_use_is_a_sentence(section, words):
    with pytest.raises(ValueError, match=words):
        NightSmoothing.from_card(section)


def test_a_card_without_smoothing_is_not_smoothed():
    assert NightSmoothing.from_card(None) is None


# -- the engine, the CLI and the bundle check -------------------------------------------
SMOOTHING = {"prior_weight": 1.0, "evidence_weight": 0.3, "temperature": 1.0}


@pytest.fixture(scope="module")
def smoothed_bundle(tmp_path_factory):
    return full_bundle(tmp_path_factory.mktemp("bundles"), seed=3, smoothing=SMOOTHING)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return study(tmp_path_factory.mktemp("n") / "night.edf", 12, seed=4)


def test_the_engine_smooths_with_the_cards_fit_and_not_when_asked(smoothed_bundle, night):
    from app.core.inference.engine import StageEngine
    from app.core.signals.recording import Recording

    rec = Recording.open(night)
    smoothed = StageEngine(smoothed_bundle, device="cpu").score(rec)
    own = StageEngine(smoothed_bundle, device="cpu", smooth=False).score(rec)
    assert "smoothing" not in own.meta
    expected = NightSmoothing(**SMOOTHING).posteriors(own.probabilities)
    np.testing.assert_allclose(smoothed.probabilities, expected, atol=1e-5)
    assert np.array_equal(smoothed.stages, expected.argmax(axis=1))
    info = smoothed.meta["smoothing"]
    assert info["model_stages"] == "".join("W123R"[s] for s in own.stages)
    assert info["changed"] == int((smoothed.stages != own.stages).sum())
    assert "stages use the whole night" in smoothed.meta["probabilities_from"]


def test_score_says_it_smoothed_and_no_smooth_gives_each_epoch_alone(
        smoothed_bundle, night, tmp_path, capsys):
    from app.cli import main
    from app.core.formats import read_hypnogram

    out, raw = tmp_path / "s.csv", tmp_path / "r.csv"
    assert main(["score", str(night), "--model", str(smoothed_bundle), "--device", "cpu",
                 "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "stages use the whole night" in err and "--no-smooth: each epoch alone" in err
    assert "# probabilities: tiny-llava-clinical/0.0.1; stages use the whole night" in \
        out.read_text()
    assert main(["score", str(night), "--model", str(smoothed_bundle), "--device", "cpu",
                 "--no-smooth", "--quiet", "-o", str(raw)]) == 0
    assert "whole night" not in raw.read_text()
    a, b = read_hypnogram(out), read_hypnogram(raw)
    assert not np.allclose(a.probabilities, b.probabilities)
    with pytest.raises(SystemExit) as exc:
        main(["score", str(night), "--smooth", "--no-smooth", "-o", str(raw)])
    assert exc.value.code == 2


def test_a_model_folder_with_a_broken_smoothing_is_refused_in_words(smoothed_bundle,
                                                                     tmp_path):
    import shutil

    from app.core.inference.bundle import load_bundle
    from app.errors import ModelError

    broken = tmp_path / "broken"
    shutil.copytree(smoothed_bundle, broken)
    card = json.loads((broken / "model_card.json").read_text())
    card["smoothing"] = {"prior_weight": "strong"}
    (broken / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="'smoothing' section PSG Lens cannot use: "
                                         "smoothing prior_weight must be a number"):
        load_bundle(broken)


def test_the_training_step_writes_the_card_and_refits_from_its_nights_cache(
        smoothed_bundle, tmp_path, capsys):
    import shutil

    from app.core.inference.bundle import load_bundle
    from training.smoothing import SmoothingArgs, main

    bundle = tmp_path / "b"
    shutil.copytree(smoothed_bundle, bundle)
    args = SmoothingArgs(bundle=str(bundle), montages=["aasm", "single-c3"],
                         nights_per_montage=1, hours=0.1, batch_size=4,
                         nights_cache=str(tmp_path / "nights.npz"))
    first = main(args)
    assert "staging 2 held-out nights" in capsys.readouterr().out
    assert load_bundle(bundle).smoothing == NightSmoothing.from_card(first)
    assert first["held_out"]["n_nights"] == 1 and first["fit"]["n_epochs"] == 12
    again = main(args)
    assert "the staged nights from" in capsys.readouterr().out
    assert again == first


def test_a_night_unlike_any_real_one_is_a_notice_of_the_run(smoothed_bundle, night,
                                                            monkeypatch):
    from app.core.inference.engine import StageEngine
    from app.core.scoring import plausibility
    from app.core.signals.recording import Recording

    monkeypatch.setattr(plausibility, "MIN_HOURS", 0.05)  # the 6-min test night counts
    rec = Recording.open(night)
    hyp = StageEngine(smoothed_bundle, device="cpu").score(rec)
    warning = plausibility.implausible_night(hyp.stages)
    assert warning, "the random test model must stage this night unlike a real one"
    assert hyp.meta["night_warning"] == warning and warning in hyp.meta["notices"]
    part = StageEngine(smoothed_bundle, device="cpu").score(rec, epochs=range(6))
    assert "night_warning" not in part.meta  # a part of the night says nothing of it
