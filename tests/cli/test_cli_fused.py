"""psg-lens score --engine fused: the model and YASA together, and the options it refuses."""

from __future__ import annotations

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
    (["--fusion-weight", "0.3"], "add --engine fused"),
    (["--engine", "fused", "--cross-check"], "YASA is already part of every stage"),
    (["--engine", "fused", "--no-smooth"], "--no-smooth adds nothing"),
])
def test_score_engine_fused_refuses_options_that_make_no_sense(tmp_path, capsys, extra, words):
    out = tmp_path / "o.csv"
    rc = main(["score", str(tmp_path / "night.edf"), "-o", str(out), *extra])
    assert rc == 2 and words in capsys.readouterr().err
    assert not out.exists()
