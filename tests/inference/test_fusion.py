"""The model and YASA fused: the product of experts, what stays unstaged, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from models import cached, full_bundle

from app.core.inference.engine import StageEngine
from app.core.inference.fusion import FusedEngine, fuse_probabilities
from app.core.scoring.stages import Stage
from app.core.signals.recording import Recording
from app.core.synth import synthesize
from app.errors import ModelError

SF = 100.0
STAGES = np.resize([0, 0, 1, 2, 2, 3, 3, 2, 4, 4], 16)


def test_weight_one_is_the_model_and_zero_the_peer():
    rng = np.random.default_rng(0)
    model, peer = rng.dirichlet(np.ones(5), 6), rng.dirichlet(np.ones(5), 6)
    assert np.allclose(fuse_probabilities(model, peer, 1.0), model, atol=1e-5)
    assert np.allclose(fuse_probabilities(model, peer, 0.0), peer, atol=1e-5)
    half = fuse_probabilities(model, peer, 0.5)
    assert np.allclose(half.sum(axis=1), 1.0, atol=1e-5)
    expected = np.sqrt(model * peer)
    assert np.allclose(half, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)


def test_a_stage_both_find_likely_beats_one_each_favours():
    model = np.array([[0.45, 0.40, 0.05, 0.05, 0.05]])  # W, then N1
    peer = np.array([[0.05, 0.40, 0.45, 0.05, 0.05]])   # N2, then N1
    assert fuse_probabilities(model, peer, 0.5).argmax() == Stage.N1


def test_unstaged_rows_stay_unstaged_and_bad_input_is_refused():
    model = np.array([[np.nan] * 5, [0.2] * 5])
    out = fuse_probabilities(model, np.full((2, 5), 0.2), 0.3)
    assert np.isnan(out[0]).all() and np.allclose(out[1], 0.2)
    with pytest.raises(ModelError, match="do not line up"):
        fuse_probabilities(np.full((2, 5), 0.2), np.full((3, 5), 0.2), 0.3)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ModelError, match="between 0 .YASA alone. and 1"):
            fuse_probabilities(model, model, bad)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> StageEngine:
    return StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=4,
                       smooth=False)


def _rec(flat_eeg: slice | None = None) -> Recording:
    study = synthesize(STAGES, seed=7, sfreq=SF)
    sigs = {c.name: c.data.astype(np.float64).copy() for c in study.channels}
    if flat_eeg is not None:
        for k in ("F4-M1", "C4-M1", "O2-M1"):
            sigs[k][flat_eeg] = 0.0
    return Recording.from_signals([(c.name, sigs[c.name], c.sfreq, c.unit)
                                   for c in study.channels], start_time=study.start_time,
                                  name="night.edf")


def test_the_engine_fuses_the_models_and_yasas_probabilities(model):
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine

    rec = _rec()
    fused = FusedEngine(model, weight=0.4).score(rec)
    alone, peer = model.score(rec), YasaEngine().score(rec)
    want = fuse_probabilities(alone.probabilities, peer.probabilities, 0.4)
    assert np.allclose(fused.probabilities, want, atol=1e-5)
    assert (fused.stages == want.argmax(axis=1)).all()
    assert fused.scorer == f"{model.name}+{peer.scorer}"
    assert fused.meta["fusion"]["weight"] == 0.4 and fused.meta["engine"] == "fused"
    assert "weight 0.4" in fused.meta["probabilities_from"]


def test_epochs_the_input_check_refused_stay_unscored(model):
    pytest.importorskip("yasa")
    flat = slice(int(4 * 30 * SF), int(6 * 30 * SF))  # epochs 5 and 6: no usable EEG
    hyp = FusedEngine(model).score(_rec(flat))
    assert (hyp.stages[4:6] == Stage.UNSCORED).all()
    assert np.allclose(hyp.probabilities[4:6], 0.2)  # no confidence borrowed from YASA
    assert (np.delete(hyp.stages, [4, 5]) >= 0).all()
    assert "flat" in hyp.notes[4] and "flat" not in hyp.notes[0]


def test_a_smoothed_model_engine_is_fused_from_each_pictures_own_probabilities():
    pytest.importorskip("yasa")
    from app.commands.score import default_model_path
    from app.core.inference.yasa_engine import YasaEngine

    smoothed = StageEngine(default_model_path(), device="cpu")  # its card has a smoothing
    assert smoothed.smoothing is not None
    rec = _rec()
    fused = FusedEngine(smoothed, weight=0.5).score(rec)
    alone = smoothed.score(rec, smooth=False)  # this run only: each picture alone
    assert "smoothing" not in alone.meta
    want = fuse_probabilities(alone.probabilities, YasaEngine().score(rec).probabilities, 0.5)
    assert np.allclose(fused.probabilities, want, atol=1e-5)
    assert smoothed.smoothing is not None  # the engine itself still smooths its own runs
    assert "smoothing" in smoothed.score(rec).meta


def test_a_study_with_one_lead_is_not_told_to_score_with_yasa_already_in_the_run(caplog):
    pytest.importorskip("yasa")
    from app.commands.score import default_model_path

    model = StageEngine(default_model_path(), device="cpu", smooth=False)
    rec = synthesize(STAGES, seed=2, sfreq=SF, montage="single-c3").to_recording(name="c3.edf")
    assert "consider scoring" in model.missing_notice(rec)  # the card advises YASA here
    with caplog.at_level("WARNING"):
        hyp = FusedEngine(model).score(rec)
    notices = hyp.meta["notices"]
    assert any("has no channel for" in n for n in notices)
    assert not any("consider scoring" in n for n in notices + [r.message for r in caplog.records])


class _StoppablePeer:
    """A peer that honours should_stop as YASA's child process does (nothing staged)."""

    name = "peer/1"

    def __init__(self) -> None:
        self.asked_to_stop = None

    def score(self, recording, *, epochs=None, sources=None, should_stop=None):
        from app.core.scoring.hypnogram import Hypnogram

        self.asked_to_stop = should_stop is not None and should_stop()
        n = recording.n_epochs
        return Hypnogram(np.full(n, int(Stage.UNSCORED)), probabilities=np.full((n, 5), np.nan),
                         scorer=self.name, meta={"stopped": self.asked_to_stop, "notices": []})


def test_a_run_cancelled_while_the_peer_scores_keeps_the_models_own_stages(model):
    from app.core.inference.engine import stages_before_smoothing

    rec, peer, stop = _rec(), _StoppablePeer(), {"now": False}

    def should_stop() -> bool:
        return stop["now"]

    gen = FusedEngine(model, peer, weight=0.4).predict(rec, should_stop=should_stop)
    while True:  # the model's batches all come; cancel before the peer is asked
        try:
            batch = next(gen)
        except StopIteration as end:
            hyp = end.value
            break
        if batch.done >= batch.total:
            stop["now"] = True
    assert peer.asked_to_stop is True
    assert hyp.meta["stopped"] and "fusion" not in hyp.meta
    alone = model.score(rec)
    assert (hyp.stages == stages_before_smoothing(alone)).all()
    assert np.allclose(hyp.probabilities, alone.probabilities)
    assert any("Stopped before peer/1 finished" in n for n in hyp.meta["notices"])


def test_combine_fuses_two_finished_runs_as_a_whole_run_does(model):
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine

    rec, yasa = _rec(), YasaEngine()
    engine = FusedEngine(model, yasa, weight=0.3)
    whole = engine.score(rec)
    parts = engine.combine(rec, model.score(rec), yasa.score(rec))
    assert (parts.stages == whole.stages).all()
    assert np.allclose(parts.probabilities, whole.probabilities, atol=1e-6)
    assert parts.meta["fusion"] == whole.meta["fusion"]


def test_epochs_the_model_and_the_peer_stage_differently_carry_both_readings(model):
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine

    flat = slice(int(4 * 30 * SF), int(6 * 30 * SF))  # epochs 5 and 6: no usable EEG
    rec = _rec(flat)
    alone, peer = model.score(rec), YasaEngine().score(rec)
    fused = FusedEngine(model, weight=0.4).score(rec)
    differ = (alone.stages >= 0) & (peer.stages >= 0) & (alone.stages != peer.stages)
    labels = ["W", "N1", "N2", "N3", "REM"]
    for e in range(rec.n_epochs):
        if differ[e]:
            m, p = int(alone.stages[e]), int(peer.stages[e])
            assert fused.notes[e].endswith(
                f"model {labels[m]} {alone.probabilities[e, m] * 100:.0f} %, YASA "
                f"{labels[p]} {peer.probabilities[e, p] * 100:.0f} %: fused "
                f"{labels[int(fused.stages[e])]}")
        else:
            assert "fused" not in fused.notes[e]
    assert fused.notes[4] and "fused" not in fused.notes[4]  # the input check's note stays
    summary = fused.meta["cross_check"]
    assert summary["n_disagree"] == int(differ.sum()) and summary["peer"] == "YASA"
    assert (summary["notice"] in fused.meta["notices"]) == bool(summary["n_compared"])
