"""Stage-transition prior: shipped file, estimation rules, real-data regeneration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.scoring import priors
from app.resources import resource_path

HYPNOGRAMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hypnograms"


def test_shipped_prior_loads_and_rows_sum_to_one():
    matrix, initial, meta = priors.load_transition_prior()
    assert matrix.shape == (5, 5) and initial.shape == (5,)
    assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-12) and np.all(matrix >= 0)
    assert np.isclose(initial.sum(), 1.0) and initial.argmax() == 0  # nights start awake
    assert meta["labels"] == ["W", "N1", "N2", "N3", "REM"]
    assert meta["command"] == "python -m app.core.scoring.priors ../shared/data/hypnograms"
    assert {s["folder"] for s in meta["sources"]} == {"dod/dodh", "dod/dodo", "sleep-edf-json"}
    assert all(s["files"] > 0 for s in meta["sources"]) and meta["created"]
    # Stages persist: every self-transition is the most likely move from that stage.
    assert np.all(np.diag(matrix) == matrix.max(axis=1))
    nm = meta["night_model"]
    jump = np.asarray(nm["jump"])
    assert jump.shape == (nm["n_bins"], 5, 5) and np.allclose(np.diagonal(jump, 0, 1, 2), 0)
    assert np.allclose(jump.sum(axis=2), 1.0, atol=1e-5)


def test_shipped_prior_file_is_valid_json_in_resources():
    path = resource_path("priors", "stage_transitions.json")
    assert path.is_file()
    assert json.loads(path.read_text())["schema_version"] == 1


def _write(folder: Path, name: str, stages: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(stages))


def test_counts_ignore_unscored_epochs(tmp_path):
    _write(tmp_path, "a.json", [0, 0, 1, 2, -1, 2, 2, 4, 0])
    _write(tmp_path / "sub", "b.json", [-1, 0, 2, 2])
    prior = priors.estimate_transition_prior(tmp_path)
    counts = np.asarray(prior["counts"])
    expected = np.zeros((5, 5), int)
    for a, b in [(0, 0), (0, 1), (1, 2), (2, 2), (2, 4), (4, 0), (0, 2), (2, 2)]:
        expected[a, b] += 1
    assert np.array_equal(counts, expected)
    assert prior["initial_counts"] == [2, 0, 0, 0, 0]  # first *scored* epoch of each night
    matrix = np.asarray(prior["matrix"])
    assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(matrix[3], 0.2)  # unseen stage: uniform row, still stochastic


def test_estimate_rejects_bad_folders_and_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        priors.estimate_transition_prior(tmp_path / "nope")
    with pytest.raises(ValueError, match="No scored hypnogram"):
        priors.estimate_transition_prior(tmp_path)
    _write(tmp_path, "bad.json", [0, 9])
    with pytest.raises(ValueError, match="stage codes"):
        priors.estimate_transition_prior(tmp_path)


def test_missing_prior_file_says_how_to_regenerate(tmp_path):
    with pytest.raises(ValueError, match="python -m app.core.scoring.priors"):
        priors.load_transition_prior(tmp_path / "none.json")


def test_main_writes_a_loadable_file(tmp_path):
    _write(tmp_path / "h", "a.json", [0, 0, 1, 2, 2, 3, 3, 2, 4, 4, 0])
    out = tmp_path / "out.json"
    assert priors.main([str(tmp_path / "h"), str(out)]) == 0
    matrix, initial, _ = priors.load_transition_prior(out)
    assert matrix[3, 3] == 0.5 and initial[0] == 1.0
    assert priors.main([]) == 2


def test_sample_night_is_deterministic_and_starts_awake():
    a = priors.sample_night(300, np.random.default_rng(4))
    b = priors.sample_night(300, np.random.default_rng(4))
    assert np.array_equal(a, b) and a[0] == 0 and a[-1] == 0 and set(a) <= {0, 1, 2, 3, 4}
    assert priors.sample_night(2, np.random.default_rng(0)).tolist() == [0, 0]


def test_resource_path_honours_frozen_builds(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("priors", "x.json") == tmp_path / "resources" / "priors" / "x.json"


def test_shipped_prior_matches_the_real_hypnograms():
    if not HYPNOGRAMS.is_dir():
        pytest.skip(f"../shared/data not found: {HYPNOGRAMS} is absent, cannot re-estimate")
    fresh = priors.estimate_transition_prior(HYPNOGRAMS)
    _, _, meta = priors.load_transition_prior()
    shipped = priors.load_prior_dict()
    assert fresh["counts"] == meta["counts"]  # the shipped file is up to date
    assert np.allclose(fresh["matrix"], shipped["matrix"])
    assert fresh["night_model"]["bout_quantiles"] == shipped["night_model"]["bout_quantiles"]
    by_folder = {s["folder"]: s for s in fresh["sources"]}
    assert by_folder["dod/dodh"]["files"] == 125 and by_folder["dod/dodo"]["files"] == 275
    assert by_folder["sleep-edf-json"]["files"] == 197
    matrix = np.asarray(fresh["matrix"])
    assert matrix[3, 1] < 0.01 and matrix[4, 3] < 0.01  # N3->N1, REM->N3 are rare (AASM)
