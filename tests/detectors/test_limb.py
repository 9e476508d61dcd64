"""Limb movements (AASM: 0.5-10 s, 8 uV above resting EMG, ending under 2 uV for 0.5 s) and
PLM series (4 or more, 5-90 s onset to onset)."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import make_study

from app.core.detectors.limb import detect_limb_movements, merge_bilateral, plm_series
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import Event, EventSource, EventType

RATE = 256.0


def _emg(seconds: float, bursts: list[tuple[float, float, float]], seed: int = 0) -> np.ndarray:
    """Resting EMG of 2 uV rms with bursts (onset s, length s, rms uV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = rng.normal(0, 2.0, t.size)
    for onset, length, rms in bursts:
        m = (t >= onset) & (t < onset + length)
        x[m] += rng.normal(0, rms, m.sum())
    return x


def test_four_movements_25_s_apart_are_a_plm_series():
    rec = make_study(600, {"LAT": (_emg(600, [(100 + 25 * k, 2.0, 15.0) for k in range(4)]),
                                   RATE)})
    lms = detect_limb_movements(rec)
    assert [round(e.onset) for e in lms] == [100, 125, 150, 175]
    assert all(e.duration == pytest.approx(2.0, abs=0.3) for e in lms)
    assert all(e.source is EventSource.DETECTOR and e.channels == ("LAT",) for e in lms)
    assert all(e.detail["peak_above_rest_uv"] >= 8 for e in lms)
    series = plm_series(lms)
    assert [e.type for e in series] == [EventType.PLM] * 4
    assert [e.detail["interval_s"] for e in series] == [None, 25.0, 25.0, 25.0]


def test_three_movements_are_not_a_series():
    rec = make_study(600, {"LAT": (_emg(600, [(100 + 25 * k, 2.0, 15.0) for k in range(3)]),
                                   RATE)})
    assert [e.type for e in plm_series(detect_limb_movements(rec))] == \
        [EventType.LIMB_MOVEMENT] * 3


def test_too_long_too_short_and_too_small_bursts_are_not_movements():
    bursts = [(100, 12.0, 15.0),     # 12 s: longer than 10 s
              (200, 0.3, 15.0),      # 0.3 s: shorter than 0.5 s
              (300, 2.0, 4.0)]       # ~5 uV above rest: under 8 uV
    rec = make_study(600, {"Leg L": (_emg(600, bursts), RATE)})
    assert detect_limb_movements(rec) == []


def test_an_interval_over_90_s_breaks_the_series():
    onsets = [100, 125, 150, 175, 300, 325, 350]
    lms = [Event(EventType.LIMB_MOVEMENT, float(o), 2.0) for o in onsets]
    types = [e.type for e in plm_series(lms)]
    assert types == [EventType.PLM] * 4 + [EventType.LIMB_MOVEMENT] * 3


def test_movements_near_a_breathing_event_are_left_out_of_the_series():
    lms = [Event(EventType.LIMB_MOVEMENT, 100.0 + 25 * k, 2.0) for k in range(4)]
    apnea = Event(EventType.OBSTRUCTIVE_APNEA, 135.0, 14.6)   # ends 0.4 s before the third
    out = plm_series(lms, [apnea])
    assert [e.type for e in out] == [EventType.LIMB_MOVEMENT] * 4
    assert out[2].detail["respiratory"] is True


def test_two_legs_moving_within_5_s_are_one_movement():
    left = _emg(600, [(100, 2.0, 15.0), (300, 2.0, 15.0)], seed=1)
    right = _emg(600, [(102, 2.0, 15.0), (310, 2.0, 15.0)], seed=2)
    rec = make_study(600, {"Leg L": (left, RATE), "Leg R": (right, RATE)})
    lms = detect_limb_movements(rec)
    assert [round(e.onset) for e in lms] == [100, 300, 310]
    assert lms[0].detail["side"] == "both" and lms[0].channels == ("Leg L", "Leg R")
    assert lms[0].end == pytest.approx(104, abs=0.3)


def test_merging_keeps_movements_of_one_leg_apart():
    a = Event(EventType.LIMB_MOVEMENT, 10.0, 1.0, detail={"side": "left"})
    b = Event(EventType.LIMB_MOVEMENT, 12.0, 1.0, detail={"side": "left"})
    assert len(merge_bilateral([a, b])) == 2


def test_leg_electrodes_recorded_apart_are_subtracted():
    x = _emg(300, [(100, 2.0, 15.0)])
    rec = make_study(300, {"LLeg1": (x, RATE), "LLeg2": (np.zeros(x.size), RATE)})
    [ev] = detect_limb_movements(rec)
    assert ev.channels == ("LLeg1-LLeg2",)


def test_a_leg_channel_sampled_too_slowly_is_a_sentence():
    notes = []
    rec = make_study(300, {"LAT": (np.zeros(300 * 10), 10.0)})
    with pytest.raises(DetectorSkipped, match="^No usable leg EMG channel"):
        detect_limb_movements(rec, notes=notes)
    assert notes == ["LAT is sampled at 10 Hz, too slow for leg EMG (at least 25 Hz); it was "
                     "not used."]


def test_a_study_without_leg_emg_is_skipped_with_one_sentence():
    with pytest.raises(DetectorSkipped, match=r"^No leg EMG channel: limb movements were not "
                                              r"detected \(looked for Leg L, LAT, .*\)\.$"):
        detect_limb_movements(make_study(300, {}))
