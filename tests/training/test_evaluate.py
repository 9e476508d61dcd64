"""training.evaluate: which held-out studies it scores, and the default engine's row."""

from __future__ import annotations

import numpy as np
import pytest
from models import cached, full_bundle

from training.datasets import DatasetError
from training.evaluate import _score_refs, _test_refs

SOURCE = {"type": "synthetic", "n_subjects": 3, "hours": 0.1, "seed": 4100}


def test_without_the_cache_the_cards_test_subjects_are_scored(tmp_path, capsys):
    card = {"training_data": {"sources": [SOURCE], "test_subjects": ["synth-4101"]}}
    refs = _test_refs(str(tmp_path / "gone"), "test", card)
    assert [r.subject_id for r in refs] == ["synth-4101"]
    assert "read from the bundle's card" in capsys.readouterr().out
    with pytest.raises(DatasetError, match="build the cache first"):
        _test_refs(str(tmp_path / "gone"), "test", {})


def test_the_default_engines_row_is_the_night_as_score_writes_it(tmp_path_factory):
    pytest.importorskip("yasa")
    from app.core.inference.engine import StageEngine
    from app.core.inference.yasa_engine import YasaEngine
    from training.datasets import find_studies

    engine = StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=8,
                         smooth=False)
    refs = find_studies(SOURCE)[:1]
    overall, per_subject, _, n = _score_refs(refs, engine, YasaEngine())
    row = per_subject[refs[0].subject_id]["psg-lens score"]
    # a card without peer or fusion figures: score runs the model alone, smoothed
    assert row["engine"] == "model" and overall["psg-lens score"]["fused_subjects"] == 0
    assert np.isclose(row["accuracy"], per_subject[refs[0].subject_id]["model+smoothing"]
                      ["accuracy"])
    assert overall["psg-lens score"]["n_epochs"] == n
