"""The engine and the input check: what is not staged, drawn without a channel, or capped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from models import cached, full_bundle

from app.core.formats import read_hypnogram, write_hypnogram
from app.core.inference.engine import StageEngine
from app.core.scoring.stages import Stage
from app.core.signals.features import FeatureReference
from app.core.signals.quality import NOT_STAGED, check_recording
from app.core.signals.recording import Recording
from app.core.synth import synthesize

SF = 100.0
STAGES = np.resize([0, 1, 2, 2, 3, 4], 8)


def _rec(edit=None) -> Recording:
    study = synthesize(STAGES, seed=5, sfreq=SF)
    sigs = {c.name: c.data.astype(np.float64).copy() for c in study.channels}
    if edit:
        edit(sigs)
    return Recording.from_signals([(c.name, sigs[c.name], c.sfreq, c.unit)
                                   for c in study.channels], start_time=study.start_time,
                                  name="night.edf")


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> StageEngine:
    return StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=4)


def _ep(e: int) -> slice:
    return slice(int(e * 30 * SF), int((e + 1) * 30 * SF))


def test_all_nan_eeg_is_never_staged(engine, tmp_path):
    def nan(d):
        for k in ("F4-M1", "C4-M1", "O2-M1"):
            d[k][:] = np.nan
    hyp = engine.score(_rec(nan))
    assert (hyp.stages == Stage.UNSCORED).all()
    assert np.allclose(hyp.probabilities, 0.2)  # no confidence at all
    assert all("No usable EEG" in n for n in hyp.notes)
    out = tmp_path / "night.csv"
    write_hypnogram(hyp, out)
    back = read_hypnogram(out)
    assert (back.stages == Stage.UNSCORED).all() and "did not stage" in back.notes[0]
    assert "note" in out.read_text().splitlines()[1].split(",")


def test_flat_eeg_epochs_are_refused_and_the_rest_staged(engine):
    def flat(d):
        for k in ("F4-M1", "C4-M1", "O2-M1"):
            d[k][_ep(2).start:_ep(3).stop] = 0.0
    hyp = engine.score(_rec(flat))
    assert (hyp.stages[2:4] == Stage.UNSCORED).all()
    assert (hyp.stages[[0, 1, 4, 5, 6, 7]] >= 0).all()
    assert hyp.notes[2] and hyp.notes[0] == ""
    assert hyp.meta["input_check"]["problems"]


def test_a_failing_channel_is_drawn_missing_only_where_it_fails(engine, monkeypatch):
    def flat(d):
        d["C4-M1"][_ep(5)] = 0.0
    rec = _rec(flat)
    seen = {}
    original = engine._probabilities

    def spy(images, epochs):
        for img, e in zip(images, epochs):
            seen[int(e)] = np.array(img)
        return original(images, epochs)

    monkeypatch.setattr(engine, "_probabilities", spy)
    engine.score(rec)
    row = slice(int(64 / 6) + 1, int(2 * 64 / 6) - 1)  # the central row of a 64-px picture
    missing = np.asarray(engine.spec.missing_color)
    dashed = (seen[5][row] == missing).all(axis=-1).any()
    assert dashed and not (seen[4][row] == missing).all(axis=-1).any()


def test_unlike_epochs_keep_their_stage_with_capped_confidence(engine, tmp_path):
    import shutil

    from app.core.signals.features import epoch_features

    bundle = tmp_path / "bundle"
    shutil.copytree(engine.bundle.path, bundle)
    card = json.loads((bundle / "model_card.json").read_text())
    ref_night = synthesize(np.resize(STAGES, 48), seed=1, sfreq=SF)
    feats = {r.slot: epoch_features(ref_night.channels[i].data.reshape(48, -1), SF,
                                    "eeg")["bands"]
             for i, r in enumerate(engine.spec.rows[:3])}
    card["input_check"] = FeatureReference.fit({k: np.tile(v, (2, 1)) for k, v in
                                                feats.items()}).to_dict()
    (bundle / "model_card.json").write_text(json.dumps(card))
    capped = StageEngine(bundle, device="cpu", batch_size=4)
    rng = np.random.default_rng(0)

    def noise(d):
        for k in ("F4-M1", "C4-M1", "O2-M1"):
            d[k][_ep(6)] = rng.normal(0, 80, _ep(6).stop - _ep(6).start)
    rec = _rec(noise)
    report = check_recording(rec, capped.spec, reference=capped.bundle.feature_reference)
    assert report.status[6] == 2  # unlike the training data
    hyp = capped.score(rec)
    raw = capped.score(rec, check=False)
    assert hyp.probabilities[6].max() <= 0.5 + 1e-6
    assert hyp.stages[6] == raw.stages[6]
    assert "unlike anything the model was trained on" in hyp.notes[6]


def test_an_inverted_lead_is_drawn_flipped(engine):
    def flip(d):
        d["O2-M1"] *= -1
    rec = _rec(flip)
    report = engine.check_input(rec)
    assert report.inverted == ["occipital"] and report.status.max() < NOT_STAGED
    # drawn back the right way up: the model sees the clean night's pictures
    clean = engine.score(_rec(), check=False)
    fixed = engine.score(rec)
    assert np.allclose(fixed.probabilities, clean.probabilities, atol=1e-4)
    assert "O2-M1 looks inverted" in fixed.meta["input_check"]["problems"][0]["sentence"]
