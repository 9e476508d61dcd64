"""The synthetic night's labels are the stages a scorer would give: N3 needs slow waves."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.synth import synthesize
from app.core.synth.physiology import draw_subject
from app.core.synth.scored import N3_COVER, scored_stages

FS = 100.0


def _night(cover_per_epoch: list[float]) -> np.ndarray:
    """A frontal lead whose 1-Hz, 120-uV waves fill the given share of each epoch."""
    x = []
    for share in cover_per_epoch:
        t = np.arange(int(30 * FS)) / FS
        x.append(np.where(t < 30 * share, 60 * np.sin(2 * np.pi * 1.0 * t), 0.0))
    return np.concatenate(x) + np.random.default_rng(0).normal(0, 2, int(30 * FS) * len(x))


def test_only_an_n3_epoch_without_its_slow_waves_changes_and_it_becomes_n2():
    stages = np.array([-1, 0, 1, 2, 2, 3, 3, 3, 4, 4])
    cover = [0.0, 0.6, 0.6, 0.0, 0.6, 0.6, 0.3, 0.1, 0.0, 0.6]
    out = scored_stages(stages, _night(cover), FS)
    assert out.dtype == np.int8
    # unscored, W, N1, N2 and REM as given, whatever their slow waves (young subjects'
    # delta-rich N2 stays N2: see the module docstring)
    assert out[[0, 1, 2, 3, 4, 8, 9]].tolist() == [-1, 0, 1, 2, 2, 4, 4]
    assert out[[5, 6, 7]].tolist() == [3, 3, 2]   # N3 kept at 60 % and 30 %, not at 10 %
    assert stages[7] == 3  # the input is not modified


def test_the_threshold_is_the_aasm_20_percent():
    assert N3_COVER == 0.2
    out = scored_stages(np.array([3, 3]), _night([0.27, 0.13]), FS)
    assert out.tolist() == [3, 2]


def test_a_lead_shorter_than_the_hypnogram_leaves_its_tail_unmeasured_as_n2():
    out = scored_stages(np.array([3, 3, 3]), _night([0.6]), FS)
    assert out.tolist() == [3, 2, 2]


def _age(seed: int) -> int:
    return draw_subject(np.random.Generator(np.random.SFC64(seed)), seed, varied=True)["age"]


@pytest.mark.parametrize("montage", ["aasm", "single-c3"])
def test_an_old_subjects_small_slow_waves_are_scored_n2_and_a_young_ones_n3(montage):
    """Seed 6 draws an 85-year-old (slow waves at ~45 % of a young adult's), seed 9 a
    21-year-old; both nights are driven by N3 throughout. The rule is read on F4-M1 from
    the night's own electrodes, also when the montage recorded only C3-A1."""
    assert _age(6) >= 80 and _age(9) <= 25
    stages = np.array([2] * 4 + [3] * 16 + [2] * 4)
    young = synthesize(stages, seed=9, sfreq=FS, montage=montage, varied=True)
    old = synthesize(stages, seed=6, sfreq=FS, montage=montage, varied=True)
    assert young.stages.tolist() == stages.tolist() == old.stages.tolist()
    assert np.mean(young.scored_stages[4:20] == 3) >= 0.9
    assert np.mean(old.scored_stages[4:20] == 3) <= 0.5
    for s in (young, old):
        assert s.scored_stages[:4].tolist() == [2] * 4 == s.scored_stages[20:].tolist()


def test_a_clean_night_keeps_its_hypnogram():
    study = synthesize(hours=2.0, seed=3, sfreq=FS)
    assert np.mean(study.scored_stages == study.stages) >= 0.97
    changed = study.scored_stages != study.stages
    assert set(study.stages[changed].tolist()) <= {3}
