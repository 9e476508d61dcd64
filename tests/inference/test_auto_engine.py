"""The default engine: the model alone, or fused with YASA where its card says YASA reads
the study's leads better; the card's fitted weights and figures; what it does when YASA
cannot read the study."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from models import cached, full_bundle

from app.core.inference.auto import AutoEngine
from app.core.inference.bundle import load_bundle
from app.core.inference.bundle_writer import editing_card
from app.core.inference.engine import StageEngine
from app.core.inference.fusion import is_lone_lead, weight_for
from app.core.synth import synthesize
from app.errors import ModelError

STAGES = np.resize([0, 0, 1, 2, 2, 3, 3, 2, 4, 4], 12)
ONE_LEAD_WEAK = {"slots": ["central"], "model_accuracy": 0.6, "peer": "yasa/0.8.1",
                 "peer_accuracy": 0.8, "data": "6 nights with one lead"}
FUSION = {"peer": "yasa/0.8.1", "weights": {"one EEG lead": 0.3, "several leads": 0.6},
          "results": [{"name": "one central EEG", "slots": ["central"], "fused": 0.83,
                       "model": 0.7, "peer": 0.8, "n_epochs": 100, "data": "4 test nights"}],
          "data": "fit on 4 nights"}


def _bundle(tmp_path: Path, tmp_path_factory, metrics: dict) -> Path:
    path = Path(shutil.copytree(cached(full_bundle, tmp_path_factory), tmp_path / "b"))
    with editing_card(path) as card:
        card["metrics"] = metrics
    return path


def _rec(montage: str = "single-c3", name: str = "c3.edf"):
    return synthesize(STAGES, seed=4, sfreq=100.0, montage=montage).to_recording(name=name)


def test_one_lead_the_card_found_weak_is_fused_and_the_run_says_why(tmp_path, tmp_path_factory):
    yasa = pytest.importorskip("yasa")
    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory,
                                            {"peer_comparisons": [ONE_LEAD_WEAK]}),
                                    device="cpu", batch_size=4))
    rec = _rec()
    assert engine.choice(rec)[0] == "fused"
    hyp = engine.score(rec)
    assert hyp.meta["engine"] == "fused"
    assert hyp.scorer == f"{engine.name}+yasa/{yasa.__version__}"
    assert (hyp.stages >= 0).all()
    why = hyp.meta["fusion"]["why"]
    assert "measured yasa/0.8.1 ahead of this model on 6 nights with one lead" in why
    assert "right on 0.80 of epochs, this model on 0.60" in why
    assert "--engine vlm stages with the model alone" in why and why in hyp.meta["notices"]
    assert not any("consider scoring" in n for n in hyp.meta["notices"])
    assert hyp.meta["fusion"]["weight"] == 0.5  # no fitted weights in this card


def test_leads_the_model_reads_as_well_are_the_model_alone(tmp_path, tmp_path_factory):
    ahead = {**ONE_LEAD_WEAK, "model_accuracy": 0.85}
    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory,
                                            {"peer_comparisons": [ahead]}),
                                    device="cpu", batch_size=4))
    assert engine.choice(_rec()) == ("vlm", None)
    full = _rec("aasm", "full.edf")
    assert engine.choice(full) == ("vlm", None)  # nothing missing: no comparison applies
    hyp = engine.score(full)
    assert hyp.meta["engine"] == "vlm" and hyp.scorer == engine.name


def test_a_card_without_peer_figures_never_fuses(tmp_path_factory):
    engine = AutoEngine(StageEngine(cached(full_bundle, tmp_path_factory), device="cpu",
                                    batch_size=4))
    assert engine.bundle.peer_comparisons == []
    assert engine.choice(_rec()) == ("vlm", None)


def test_when_yasa_cannot_read_the_study_the_model_stages_it_and_says_so(tmp_path,
                                                                         tmp_path_factory):
    def no_yasa():
        raise ModelError("The YASA second opinion needs the yasa package")

    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory,
                                            {"peer_comparisons": [ONE_LEAD_WEAK]}),
                                    device="cpu", batch_size=4), peer_factory=no_yasa)
    hyp = engine.score(_rec())
    assert hyp.meta["engine"] == "vlm" and "fusion" not in hyp.meta
    assert any(n.startswith("YASA could not read this study, so it was staged by the model "
                            "alone") for n in hyp.meta["notices"])


def test_the_cards_fitted_weight_and_figures_are_used(tmp_path, tmp_path_factory):
    pytest.importorskip("yasa")
    path = _bundle(tmp_path, tmp_path_factory,
                   {"peer_comparisons": [ONE_LEAD_WEAK], "fusion": FUSION})
    engine = AutoEngine(StageEngine(path, device="cpu", batch_size=4))
    hyp = engine.score(_rec())
    assert hyp.meta["fusion"]["weight"] == 0.3  # the card's weight for one EEG lead
    assert ("which on 4 test nights was right on 0.83 (yasa/0.8.1 0.80, the model as "
            "scored 0.70)") in hyp.meta["fusion"]["why"]
    assert hyp.meta["fusion"]["temperature"] == 1.0  # none in this card
    given = AutoEngine(StageEngine(path, device="cpu", batch_size=4), weight=0.8)
    assert given.score(_rec()).meta["fusion"]["weight"] == 0.8


def test_the_cards_temperature_calibrates_the_fused_probabilities(tmp_path,
                                                                   tmp_path_factory):
    pytest.importorskip("yasa")
    from app.core.inference.calibration import apply_temperature
    from app.core.inference.fusion import FusedEngine

    plain = _bundle(tmp_path / "a", tmp_path_factory, {"fusion": FUSION})
    warm = _bundle(tmp_path / "b", tmp_path_factory, {"fusion": {**FUSION, "temperature": 2.0}})
    rec = _rec()
    one = FusedEngine(StageEngine(plain, device="cpu", batch_size=4)).score(rec)
    two = FusedEngine(StageEngine(warm, device="cpu", batch_size=4)).score(rec)
    assert two.meta["fusion"]["temperature"] == 2.0
    assert (one.stages == two.stages).all()  # a temperature never changes the stage
    assert np.allclose(two.probabilities, apply_temperature(one.probabilities, 2.0), atol=1e-5)
    assert two.probabilities.max(axis=1).mean() < one.probabilities.max(axis=1).mean()
    # a weight the user chose was not what the temperature was fitted for
    given = FusedEngine(StageEngine(warm, device="cpu", batch_size=4), weight=0.3).score(rec)
    assert given.meta["fusion"]["temperature"] == 1.0


def test_the_weight_follows_the_number_of_leads():
    assert is_lone_lead({"central"}) and is_lone_lead({"frontal"})
    assert not is_lone_lead({"central", "e1"}) and not is_lone_lead({"e1"})
    assert weight_for({"occipital"}, FUSION) == 0.3
    assert weight_for({"frontal", "occipital", "e1", "chin"}, FUSION) == 0.6
    assert weight_for({"central"}, None) == 0.5


@pytest.mark.parametrize("fusion", [
    {**FUSION, "weights": {"one EEG lead": 1.3, "several leads": 0.6}},
    {**FUSION, "weights": {"one EEG lead": 0.3}},
    {**FUSION, "results": [{"name": "x", "slots": "central", "fused": 0.8, "model": 0.7,
                            "peer": 0.8}]},
    {**FUSION, "peer": None},
    {**FUSION, "temperature": 0.0},
    {**FUSION, "temperature": "1.2"},
    "fused",
])
def test_a_fusion_section_of_the_wrong_shape_falls_back_to_the_default(tmp_path,
                                                                       tmp_path_factory,
                                                                       fusion):
    bundle = load_bundle(_bundle(tmp_path, tmp_path_factory, {"fusion": fusion}))
    assert bundle.fusion is None
    assert weight_for({"central"}, bundle.fusion) == 0.5


def test_a_weight_outside_0_to_1_is_refused_before_any_run(tmp_path_factory):
    model = StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=4)
    with pytest.raises(ModelError, match="between 0 .YASA alone. and 1"):
        AutoEngine(model, weight=2.0)


def test_leads_the_card_never_measured_follow_the_nearest_wider_set():
    from app.core.inference.auto import best_comparison

    three = {"slots": ["frontal", "central", "occipital"], "model_accuracy": 0.8,
             "peer": "yasa/0.8.1", "peer_accuracy": 0.85, "data": "8 nights"}
    full = {**three, "slots": ["frontal", "central", "occipital", "e1", "e2", "chin"],
            "model_accuracy": 0.95}
    one = {**three, "slots": ["central"], "model_accuracy": 0.6}
    comparisons = [full, three, one]
    assert best_comparison({"central"}, comparisons) is one  # exactly these leads
    assert best_comparison({"frontal", "occipital"}, comparisons) is three  # fewest wider
    assert best_comparison({"frontal", "occipital", "e1"}, comparisons) is full
    assert best_comparison({"frontal", "occipital", "e1"}, [three, one]) is None
    # two sets as near that disagree: the one the model did better on (here: ahead)
    weak = {**three, "slots": ["frontal", "occipital", "e1", "chin"], "model_accuracy": 0.8}
    ahead = {**three, "slots": ["frontal", "central", "occipital", "chin"],
             "model_accuracy": 0.9}
    assert best_comparison({"frontal", "occipital", "chin"}, [weak, ahead]) is ahead


def test_a_study_with_fewer_leads_than_a_weak_measurement_says_which_were_measured(
        tmp_path, tmp_path_factory):
    three = {"slots": ["frontal", "central", "occipital"], "model_accuracy": 0.7,
             "peer": "yasa/0.8.1", "peer_accuracy": 0.85, "data": "8 nights"}
    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory,
                                            {"peer_comparisons": [three]}),
                                    device="cpu", batch_size=4))
    rec = _rec()  # C3-A1 alone
    assert engine.choice(rec) == ("fused", three)
    why = engine.why(rec, alone="")
    assert why.startswith("The model card has no measurement with exactly these channels; "
                          "with these and F4-M1, O2-M1 it measured yasa/0.8.1 ahead")
    assert why.endswith("(the model's weight 0.5). Review every epoch.")


EVERY = ["frontal", "central", "occipital", "e1", "e2", "chin"]


def test_leads_the_model_and_yasa_together_read_best_are_fused_and_say_so(
        tmp_path, tmp_path_factory):
    """No peer comparison says YASA is ahead, but bench/fusion.py measured the two together
    ahead of the model alone with these leads: the default hedges, and says why."""
    yasa = pytest.importorskip("yasa")
    ahead = {**ONE_LEAD_WEAK, "slots": EVERY, "model_accuracy": 0.95, "peer_accuracy": 0.9}
    together = {**FUSION, "results": [{"name": "every channel", "slots": EVERY,
                                       "fused": 0.97, "model": 0.95, "peer": 0.9,
                                       "n_epochs": 100, "data": "2 test nights"}]}
    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory,
                                            {"peer_comparisons": [ahead], "fusion": together}),
                                    device="cpu", batch_size=4))
    full = _rec("aasm", "full.edf")
    kind, reason = engine.choice(full)
    assert kind == "fused" and reason["kind"] == "fused ahead" and reason["fused"] == 0.97
    hyp = engine.score(full)
    assert hyp.meta["engine"] == "fused" and hyp.scorer == f"{engine.name}+yasa/{yasa.__version__}"
    why = hyp.meta["fusion"]["why"]
    assert why.startswith("With these channels the model card measured the model and "
                          "yasa/0.8.1 together ahead of the model alone on 2 test nights: "
                          "right on 0.970 of epochs (yasa/0.8.1 0.900, the model as scored "
                          "0.950)")
    assert "(the model's weight 0.6)" in why and why in hyp.meta["notices"]
    # fewer leads than the fusion measured: the nearest wider set, named
    from app.core.signals.recording import Recording

    study = synthesize(STAGES, seed=4, sfreq=100.0, montage="aasm")
    no_chin = Recording.from_signals([(c.name, c.data, c.sfreq, c.unit) for c in study.channels
                                      if c.name != "Chin1-Chin2"], name="nochin.edf")
    assert engine.why(no_chin, alone="").startswith(
        "The model card has no fusion measurement with exactly these channels; with these "
        "and Chin it measured the model and yasa/0.8.1 together ahead")


def test_where_the_model_alone_did_as_well_as_both_together_it_stays_alone(
        tmp_path, tmp_path_factory):
    from app.core.inference.auto import fused_ahead

    level = {**FUSION, "results": [{"name": "every channel", "slots": EVERY, "fused": 0.95,
                                    "model": 0.95, "peer": 0.9, "data": "2 nights"}]}
    engine = AutoEngine(StageEngine(_bundle(tmp_path, tmp_path_factory, {"fusion": level}),
                                    device="cpu", batch_size=4))
    assert engine.choice(_rec("aasm", "full.edf")) == ("vlm", None)
    assert fused_ahead(level, set(EVERY)) is None
    assert fused_ahead({**level, "peer": "other/1"}, set(EVERY)) is None  # YASA only
    assert fused_ahead(None, set(EVERY)) is None


def test_the_shipped_card_fuses_every_lead_set_its_fusion_figures_cover():
    from app.commands.score import default_model_path
    from app.core.inference.auto import FUSED_AHEAD, fusion_reason

    bundle = load_bundle(default_model_path())
    full = fusion_reason(bundle, set(EVERY))
    assert full is not None and full["kind"] == FUSED_AHEAD and full["fused"] > full["model_accuracy"]
    assert fusion_reason(bundle, {"central"}).get("kind") != FUSED_AHEAD  # YASA ahead there


def test_a_run_yasa_cannot_read_says_why_the_card_wanted_it_fused():
    from app.core.inference.auto import FUSED_AHEAD, UNFUSED, UNFUSED_AHEAD, unfused

    assert unfused(ONE_LEAD_WEAK) == UNFUSED and "weak" in UNFUSED
    assert unfused({"kind": FUSED_AHEAD}) == UNFUSED_AHEAD and "weak" not in UNFUSED_AHEAD
