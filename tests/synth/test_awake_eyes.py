"""Awake eyes: vertical saccades and blink flutter on the frontopolar leads (varied nights).

Real frontopolar EEG awake (Sleep-EDF Fpz-Cz) is full of 1-2 Hz eye and lid deflections;
a generator whose awake frontal lead has only blinks taught the model that such deflections
mean sleep. These tests pin where the new eye events are drawn and how they show.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

from app.core.synth import ChannelRecipe, synthesize
from app.core.synth.events import plant_all
from app.core.synth.physiology import WAKE_EYE_RATES, draw_subject

SF = 128.0
WAKE = np.zeros(40, dtype=int)
NIGHT = np.array([0] * 20 + [1] * 10 + [2] * 20 + [3] * 10 + [4] * 20)


def _subject(seed: int, **changes) -> dict:
    subj = draw_subject(np.random.Generator(np.random.SFC64(seed)), seed, varied=True)
    subj.update(changes)
    return subj


def _plant(subj: dict, stages: np.ndarray, seed: int = 0) -> dict:
    e = int(30 * SF)
    return plant_all(np.random.default_rng(seed), stages, e, SF, 30.0, subj)


def test_vertical_saccades_and_flutter_are_drawn_awake_with_eyes_open_only():
    planted = _plant(_subject(1, eyes_closed=0.0, eye_activity=1.0), NIGHT)
    for kind in WAKE_EYE_RATES:
        epochs = planted[kind][2]
        assert epochs.size > 10, kind
        # none in N2, N3 or REM; a few in N1 at most (drowsy eyes still move)
        assert np.isin(NIGHT[epochs], (0, 1)).all(), kind
        assert (NIGHT[epochs] == 0).mean() > 0.8, kind
    closed = _plant(_subject(1, eyes_closed=1.0, eye_activity=1.0), WAKE)
    opened = _plant(_subject(1, eyes_closed=0.0, eye_activity=1.0), WAKE)
    assert closed["vsaccade"][2].size < 0.2 * opened["vsaccade"][2].size


def test_eye_activity_scales_the_awake_saccades():
    still = _plant(_subject(2, eyes_closed=0.0, eye_activity=0.3), WAKE)
    busy = _plant(_subject(2, eyes_closed=0.0, eye_activity=3.0), WAKE)
    for kind in ("saccade", "vsaccade", "flutter"):
        assert busy[kind][2].size > 4 * max(still[kind][2].size, 1), kind


def test_clean_default_subject_has_no_new_eye_events():
    subj = draw_subject(np.random.Generator(np.random.SFC64(3)), 3, varied=False)
    assert subj["eye_seed"] is None
    planted = _plant(subj, WAKE)
    assert all(planted[k][2].size == 0 for k in WAKE_EYE_RATES)
    s = synthesize(WAKE, seed=3, sfreq=SF, montage="aasm")
    assert not {e.kind for e in s.events} & set(WAKE_EYE_RATES)


def _rec(label: str, plus: str, minus: str, kind: str = "eeg") -> ChannelRecipe:
    return ChannelRecipe(label, kind, plus, minus)


def _windows(study, kind: str, name: str) -> list[np.ndarray]:
    ch = next(c for c in study.channels if c.name == name)
    x = ch.data.astype(float)
    return [x[int(e.onset * ch.sfreq): int((e.onset + e.duration) * ch.sfreq)]
            for e in study.events if e.kind == kind]


def test_vertical_eye_movements_are_largest_frontopolar_horizontal_ones_are_not():
    montage = (_rec("Fpz-Cz", "Fpz", "Cz"), _rec("Pz-Oz", "Pz", "Oz"),
               _rec("E1-M2", "E1", "M2", "eog"))
    s = synthesize(WAKE, seed=11, sfreq=SF, montage=montage, varied=True)
    assert s.subject["eye_seed"] is not None

    def ptp(kind: str, name: str) -> float:
        return float(np.median([np.ptp(w) for w in _windows(s, kind, name) if w.size]))

    # a vertical saccade swings Fpz-Cz far more than Pz-Oz; a horizontal one hardly
    # reaches the midline (it is E1's, not Fpz's; other eye events overlap both windows)
    assert ptp("vsaccade", "Fpz-Cz") > 3 * ptp("vsaccade", "Pz-Oz")
    frontopolar_share = {k: ptp(k, "Fpz-Cz") / ptp(k, "E1-M2") for k in ("vsaccade", "saccade")}
    assert frontopolar_share["vsaccade"] > 1.5 * frontopolar_share["saccade"]


def test_flutter_is_a_run_of_two_to_four_hertz_jerks():
    montage = (_rec("Fpz-Cz", "Fpz", "Cz"), _rec("C4-M1", "C4", "M1"))
    s = synthesize(WAKE, seed=12, sfreq=SF, montage=montage, varied=True)
    runs = [w for w in _windows(s, "flutter", "Fpz-Cz") if w.size >= 2 * SF]
    assert runs
    peaks = []
    for w in runs:
        f, p = welch(w - w.mean(), SF, nperseg=w.size)
        band = (f >= 0.8) & (f <= 8.0)
        peaks.append(f[band][np.argmax(p[band])])
    assert 1.5 <= np.median(peaks) <= 4.5
