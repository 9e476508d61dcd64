"""Hypopneas: a 30 % drop for 10 s confirmed by a desaturation (1A: 3 %, 1B: 4 %) or, under
1A, an arousal."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import breaths, make_study

from app.core.detectors.hypopnea import check_rule, detect_hypopneas
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import Event, EventSource, EventType


def _desat(nadir: float, drop: float) -> Event:
    return Event(EventType.DESATURATION, nadir - 15, 25.0, source=EventSource.DETECTOR,
                 detail={"drop_pct": drop, "nadir_s": nadir})


def _arousal(onset: float) -> Event:
    return Event(EventType.AROUSAL, onset, 5.0, source=EventSource.DETECTOR)


def _study(drop: float = 0.5, a: float = 400, b: float = 420, name: str = "Nasal Pressure"):
    t, wave = breaths(900)
    x = np.where((t >= a) & (t < b), 1 - drop, 1.0) * wave
    return make_study(900, {name: (x, 10.0), "Airflow": (wave, 10.0)})


def test_a_half_drop_with_a_3_5_percent_desaturation_is_a_1a_hypopnea_not_1b():
    rec = _study()
    [ev] = detect_hypopneas(rec, desaturations=[_desat(440, 3.5)], arousals=None)
    assert ev.type is EventType.HYPOPNEA and ev.source is EventSource.DETECTOR
    assert ev.onset == pytest.approx(400, abs=1.5) and ev.duration == pytest.approx(20, abs=2)
    assert ev.channels == ("Nasal Pressure",)
    assert ev.detail["rule"] == "1A" and ev.detail["desaturation_pct"] == 3.5
    assert ev.detail["sensor"] == "nasal pressure"
    assert 40 <= ev.detail["flow_drop_pct"] <= 60
    assert detect_hypopneas(rec, desaturations=[_desat(440, 3.5)], arousals=None,
                            rule="1B") == []
    assert len(detect_hypopneas(rec, desaturations=[_desat(440, 4.5)], arousals=None,
                                rule="1b")) == 1


def test_an_arousal_at_the_end_confirms_under_1a_only():
    rec = _study()
    [ev] = detect_hypopneas(rec, desaturations=[], arousals=[_arousal(421.0)])
    assert ev.detail["arousal_onset_s"] == 421.0 and ev.detail["desaturation_pct"] is None
    assert detect_hypopneas(rec, desaturations=[], arousals=[_arousal(421.0)], rule="1B") == []


def test_a_drop_nothing_confirms_is_not_scored():
    rec = _study()
    late = _desat(480, 5.0)             # nadir 60 s after the end: another event's
    assert detect_hypopneas(rec, desaturations=[late], arousals=[_arousal(470.0)]) == []


def test_a_20_percent_drop_is_too_small():
    assert detect_hypopneas(_study(drop=0.2), desaturations=[_desat(440, 5)], arousals=[]) == []


def test_a_drop_that_meets_the_apnea_rule_is_never_a_hypopnea():
    rec = _study(drop=1.0)
    assert detect_hypopneas(rec, desaturations=[_desat(440, 5)], arousals=[]) == []
    apnea = Event(EventType.OBSTRUCTIVE_APNEA, 402.0, 16.0)
    assert detect_hypopneas(_study(), desaturations=[_desat(440, 5)], arousals=[],
                            apneas=[apnea]) == []


def test_without_nasal_pressure_the_thermistor_is_used_and_named():
    t, wave = breaths(900)
    x = np.where((t >= 400) & (t < 420), 0.5, 1.0) * wave
    rec = make_study(900, {"Airflow": (x, 10.0)})
    [ev] = detect_hypopneas(rec, desaturations=[_desat(440, 4)], arousals=None)
    assert ev.detail["sensor"] == "thermal (AASM alternative)" and ev.channels == ("Airflow",)


def test_missing_channels_are_one_sentence_each():
    t, wave = breaths(300)
    rec = make_study(300, {"Thorax": (wave, 10.0)})
    with pytest.raises(DetectorSkipped, match=r"^No nasal pressure or oronasal thermal airflow "
                                              r"channel: hypopneas were not detected \(looked "
                                              r"for Nasal Pressure, PTAF, Pres, .*\)\.$"):
        detect_hypopneas(rec, desaturations=[], arousals=[])
    rec = _study()
    with pytest.raises(DetectorSkipped, match=r"^No SpO2 channel: hypopneas were not detected, "
                                              r"because rule 1B"):
        detect_hypopneas(rec, desaturations=None, arousals=[], rule="1B")
    with pytest.raises(DetectorSkipped, match=r"^No SpO2 channel and no arousals \(they need a "
                                              r"hypnogram\)"):
        detect_hypopneas(rec, desaturations=None, arousals=None)


def test_an_unknown_rule_is_a_sentence():
    with pytest.raises(DetectorSkipped, match="Unknown hypopnea rule '1C': use 1A"):
        check_rule("1C")


def test_the_desaturation_after_an_apnea_is_the_apneas_and_confirms_no_hypopnea():
    rec = _study(a=400, b=420)
    apnea = Event(EventType.OBSTRUCTIVE_APNEA, 370.0, 20.0)       # ends 10 s before the drop
    desat = _desat(412, 5.0)                                      # nadir 22 s after the apnea
    assert detect_hypopneas(rec, desaturations=[desat], arousals=[], apneas=[apnea]) == []
    assert len(detect_hypopneas(rec, desaturations=[desat], arousals=[])) == 1


def test_one_desaturation_confirms_one_hypopnea():
    t, wave = breaths(900)
    drop = ((t >= 400) & (t < 415)) | ((t >= 435) & (t < 450))
    rec = make_study(900, {"Nasal Pressure": (np.where(drop, 0.5, 1.0) * wave, 10.0)})
    found = detect_hypopneas(rec, desaturations=[_desat(440, 5.0)], arousals=[])
    assert [round(e.onset) for e in found] == [400]    # the nadir lies in both windows
