"""psg-lens score --engine fused: the model and YASA together, and the options it refuses;
the default engine fusing a study the model's card found it weak on."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from models import cached, full_bundle, study

from app.cli import main
from app.core.formats import read_hypnogram


def test_score_engine_fused_writes_where_its_stages_came_from(tmp_path_factory, tmp_path,
                                                              capsys):
    pytest.importorskip("yasa")
    bundle = cached(full_bundle, tmp_path_factory)
    path = study(tmp_path / "night.edf", 12, seed=3)
    out = tmp_path / "night.csv"
    assert main(["score", str(path), "--engine", "fused", "--fusion-weight", "0.5",
                 "--model", str(bundle), "--device", "cpu", "-o", str(out)]) == 0
    hyp = read_hypnogram(out)
    assert hyp.n_epochs == 12 and (hyp.stages >= 0).all()
    assert "+yasa/" in hyp.scorer
    assert "weight 0.5" in out.read_text().splitlines()[1]
    assert "of the model's own stages" in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--engine", "fused", "--fusion-weight", "1.5"], "between 0 (YASA alone) and 1"),
    (["--engine", "vlm", "--fusion-weight", "0.3"], "which --engine vlm never is"),
    (["--engine", "yasa", "--fusion-weight", "0.3"], "which --engine yasa never is"),
    (["--engine", "fused", "--cross-check"], "YASA is already part of every stage"),
    (["--engine", "fused", "--no-smooth"], "--no-smooth adds nothing"),
])
def test_score_engine_fused_refuses_options_that_make_no_sense(tmp_path, capsys, extra, words):
    out = tmp_path / "o.csv"
    rc = main(["score", str(tmp_path / "night.edf"), "-o", str(out), *extra])
    assert rc == 2 and words in capsys.readouterr().err
    assert not out.exists()


def _weak_on_one_lead(tmp_path_factory, tmp_path) -> Path:
    from app.core.inference.bundle_writer import editing_card

    bundle = Path(shutil.copytree(cached(full_bundle, tmp_path_factory), tmp_path / "b"))
    with editing_card(bundle) as card:  # a card that measured YASA better on one lead
        card.setdefault("metrics", {})["peer_comparisons"] = [{
            "slots": ["central"], "model_accuracy": 0.6, "peer": "yasa/0.8.1",
            "peer_accuracy": 0.8, "data": "6 nights", "command": "psg-lens score --engine yasa"}]
    return bundle


def test_score_fuses_a_study_whose_leads_the_card_found_weak(tmp_path_factory, tmp_path,
                                                             capsys):
    pytest.importorskip("yasa")
    from app.core.synth import make_study_file

    bundle = _weak_on_one_lead(tmp_path_factory, tmp_path)
    one = tmp_path / "c3.edf"
    make_study_file(one, stages=np.resize([0, 2, 3, 4], 8), seed=1, montage="single-c3",
                    sfreq=100.0)
    full = study(tmp_path / "full.edf", 8, seed=2)
    base = ["--model", str(bundle), "--device", "cpu"]
    assert main(["score", str(one), "-o", str(tmp_path / "c3.csv"), *base]) == 0
    err = capsys.readouterr().err
    assert "+yasa/" in read_hypnogram(tmp_path / "c3.csv").scorer
    assert "Each epoch was therefore staged from both together" in err
    assert "consider scoring" not in err
    assert main(["score", str(full), "-o", str(tmp_path / "full.csv"), *base]) == 0
    assert "+yasa/" not in read_hypnogram(tmp_path / "full.csv").scorer  # nothing missing
    for extra in (["--engine", "vlm"], ["--no-smooth"], ["--cross-check"]):
        out = tmp_path / f"c3{len(extra)}{extra[-1]}.csv"
        assert main(["score", str(one), "-o", str(out), *base, *extra]) == 0
        assert "+yasa/" not in read_hypnogram(out).scorer, extra  # the model's own stages
    assert "consider scoring this study with yasa/0.8.1" in capsys.readouterr().err


def test_check_says_how_score_will_stage_the_study(tmp_path_factory, tmp_path, capsys):
    import json

    from app.core.synth import make_study_file

    bundle = _weak_on_one_lead(tmp_path_factory, tmp_path)
    one = tmp_path / "c3.edf"
    make_study_file(one, stages=np.resize([0, 2, 3, 4], 4), seed=1, montage="single-c3",
                    sfreq=100.0)
    full = study(tmp_path / "full.edf", 4, seed=2)
    assert main(["check", str(one), "--model", str(bundle)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("psg-lens score stages this study with the model and yasa/0.8.1 together: with "
            "these leads the card measured yasa/0.8.1 right on 0.80 of epochs and the model "
            "on 0.60 (6 nights); --engine vlm stages with the model alone.") in out
    assert main(["check", str(full), "--model", str(bundle)]) == 0
    assert "psg-lens score stages this study with the model alone." in capsys.readouterr().out
    assert main(["check", str(one), "--model", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score_engine"] == "fused"


def test_check_says_a_full_montage_is_fused_where_both_together_were_measured_ahead(
        tmp_path_factory, tmp_path, capsys):
    import json

    from app.core.inference.bundle_writer import editing_card

    bundle = _weak_on_one_lead(tmp_path_factory, tmp_path)
    every = ["frontal", "central", "occipital", "e1", "e2", "chin"]
    with editing_card(bundle) as card:
        card["metrics"]["fusion"] = {
            "peer": "yasa/0.8.1", "weights": {"one EEG lead": 0.3, "several leads": 0.5},
            "results": [{"name": "every channel", "slots": every, "fused": 0.985,
                         "model": 0.977, "peer": 0.947, "data": "2 test nights"}]}
    full = study(tmp_path / "full.edf", 4, seed=2)
    assert main(["check", str(full), "--model", str(bundle)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("psg-lens score stages this study with the model and yasa/0.8.1 together: with "
            "these leads the card measured both together right on 0.985 of epochs, the model "
            "as scored on 0.977 and yasa/0.8.1 on 0.947 (2 test nights); --engine vlm stages "
            "with the model alone.") in out
    assert main(["check", str(full), "--model", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score_engine"] == "fused"
