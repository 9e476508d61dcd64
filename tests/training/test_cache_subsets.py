"""Channel subsets in the image cache, and the synthetic source's montage and lab mix."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from app.core.signals.channels import Source
from training.cache import CacheArgs, apply_subset, build_cache
from training.datasets import DatasetError, find_studies

SLOTS = ["frontal", "central", "occipital", "e1", "e2", "chin"]
FULL = [Source(s, s) for s in SLOTS]


def _kept(out) -> list[str]:
    return [s for s, src in zip(SLOTS, out) if src is not None]


def test_keep_one_eeg_keeps_exactly_one_present_eeg_slot():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        kept = _kept(apply_subset(FULL, SLOTS, {"keep_one_eeg": True}, rng))
        assert len(kept) == 1 and kept[0] in ("frontal", "central", "occipital")
        seen.add(kept[0])
    assert seen == {"frontal", "central", "occipital"}
    only_c = [None, FULL[1], None, FULL[3], None, FULL[5]]
    assert _kept(apply_subset(only_c, SLOTS, {"keep_one_eeg": True, "also": ["chin"]}, rng)) \
        == ["central", "chin"]


def test_drop_keep_and_random_drops_never_leave_no_eeg():
    rng = np.random.default_rng(1)
    assert _kept(apply_subset(FULL, SLOTS, {"drop": ["e1", "e2"]}, rng)) == \
        ["frontal", "central", "occipital", "chin"]
    assert _kept(apply_subset(FULL, SLOTS, {"keep": ["central", "e1"]}, rng)) == ["central", "e1"]
    for _ in range(50):
        kept = _kept(apply_subset(FULL, SLOTS, {"drop_prob": 0.9}, rng))
        assert set(kept) & {"frontal", "central", "occipital"}
    # a recording without EEG in the slots stays as it is (nothing to keep)
    no_eeg = [None, None, None, FULL[3], None, None]
    assert _kept(apply_subset(no_eeg, SLOTS, {"drop_prob": 0.0}, rng)) == ["e1"]


def test_cache_records_montage_and_subset_per_image(tmp_path):
    args = CacheArgs(output_dir=str(tmp_path / "cache"), workers=1, epochs_per_subject=8,
                     spec={"preset": "clinical", "width": 64, "height": 64},
                     sources=[{"type": "synthetic", "n_subjects": 3, "hours": 0.2, "seed": 40,
                               "sfreq": 100.0, "varied": 1.0,
                               "montages": {"single-c3": 1, "sleep-edf": 1}}],
                     subsets=[{"name": "as recorded", "weight": 1},
                              {"name": "one EEG", "weight": 1, "keep_one_eeg": True}],
                     subset_chunk=4)
    build_cache(args)
    rows = list(csv.DictReader(open(tmp_path / "cache" / "index.csv")))
    assert rows and {r["montage"] for r in rows} <= {"single-c3", "sleep-edf"}
    assert {r["subset"] for r in rows} <= {"as recorded", "one EEG"}
    by_subject = {}
    for r in rows:
        by_subject.setdefault(r["subject"], set()).add(r["subset"])
    assert all(len(v) >= 1 for v in by_subject.values())


def test_synthetic_source_draws_varied_subjects_and_checks_its_options():
    refs = find_studies({"type": "synthetic", "n_subjects": 40, "seed": 3, "varied": 0.5,
                         "montages": {"aasm": 1, "dreams": 1, "headband": 1}})
    assert {r.params["montage"] for r in refs} == {"aasm", "dreams", "headband"}
    share = np.mean([r.params["varied"] for r in refs])
    assert 0.25 < share < 0.75
    with pytest.raises(DatasetError, match="Unknown synthetic montage"):
        find_studies({"type": "synthetic", "montages": {"10-20": 1}})
    with pytest.raises(DatasetError, match="unknown option"):
        find_studies({"type": "synthetic", "n_subject": 3})
    with pytest.raises(DatasetError, match="share of varied"):
        find_studies({"type": "synthetic", "varied": 2})


def test_a_synthetic_subjects_labels_are_the_scored_stages_not_the_drive():
    """An old subject's N3 without its slow waves is trained on as N2 (app.core.synth.
    scored), so the model learns the boundary a scorer draws."""
    from app.core.synth import synthesize

    ref = next(r for r in find_studies({"type": "synthetic", "n_subjects": 60, "seed": 0,
                                        "hours": 2.0, "varied": 1.0, "montages": {"aasm": 1}})
               if r.params["seed"] == 6)  # an 85-year-old
    _, hyp, _ = ref.load()
    study = synthesize(hours=2.0, seed=6, montage="aasm", varied=True)
    assert hyp.stages.tolist() == study.scored_stages[: hyp.n_epochs].tolist()
    assert np.any(study.stages == 3) and np.any(study.scored_stages != study.stages)


def test_synthetic_source_draws_a_share_of_older_sleepers_only_when_asked():
    base = {"type": "synthetic", "n_subjects": 60, "seed": 3, "varied": 0.8,
            "montages": {"aasm": 1, "dreams": 1}}
    plain = find_studies(base)
    assert all(r.params["ages"] is None for r in plain)
    older = find_studies({**base, "older": 0.5})
    drawn = [r for r in older if r.params["ages"] is not None]
    assert 0.2 < len(drawn) / len(older) < 0.7
    assert all(r.params["varied"] and r.params["ages"] == [65, 85] for r in drawn)
    with pytest.raises(DatasetError, match="share of varied subjects drawn old"):
        find_studies({**base, "older": 1.5})
    with pytest.raises(DatasetError, match="older_ages"):
        find_studies({**base, "older": 0.5, "older_ages": [90, 70]})
