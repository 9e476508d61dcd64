"""Desaturations: a fall of 3 % (or 4 %) from the highest SpO2 of the 120 s before."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import make_study

from app.core.detectors.desaturation import desaturations, detect_desaturations
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import EventSource, EventType


def _dip(t: np.ndarray, at: float, depth: float, width: float = 8.0) -> np.ndarray:
    return depth * np.exp(-(((t - at) / width) ** 2))


def test_a_3_5_percent_dip_is_found_by_the_3_percent_rule_and_not_by_the_4_percent_rule():
    t = np.arange(900.0)
    rec = make_study(900, {"SpO2": (96.5 - _dip(t, 400, 3.5), 1.0)})
    three = detect_desaturations(rec, drop_pct=3.0)
    assert [e.type for e in three] == [EventType.DESATURATION]
    ev = three[0]
    assert ev.source is EventSource.DETECTOR and ev.channels == ("SpO2",)
    assert ev.detail["drop_pct"] == pytest.approx(3.5, abs=0.05)
    assert ev.detail["nadir_s"] == pytest.approx(400, abs=1)
    assert ev.onset < 400 < ev.end
    assert 0.5 <= ev.confidence <= 1.0
    assert detect_desaturations(rec, drop_pct=4.0) == []


def test_a_deeper_dip_is_more_confident_and_both_rules_find_it():
    t = np.arange(900.0)
    x = 96.0 - _dip(t, 300, 3.2) - _dip(t, 600, 7.0)
    found = desaturations(x, 1.0, drop_pct=3.0)
    assert [round(e.detail["drop_pct"]) for e in found] == [3, 7]
    assert found[1].confidence > found[0].confidence
    assert [round(e.detail["drop_pct"]) for e in desaturations(x, 1.0, drop_pct=4.0)] == [7]


def test_a_slow_drift_through_the_night_is_no_desaturation():
    t = np.arange(8 * 3600.0)
    x = 97.0 - 5.0 * t / t[-1]          # 5 % over 8 h
    assert desaturations(x, 1.0) == []


def test_a_probe_off_reading_zero_and_a_motion_spike_are_artefact():
    x = np.full(900, 96.0)
    x[300:360] = 0.0                    # probe off
    x[600] = 88.0                       # one-sample motion drop of 8 %/s
    assert desaturations(x, 1.0) == []


def test_a_fast_oximeter_is_read_at_one_hertz():
    rate = 25.0
    t = np.arange(0, 900, 1 / rate)
    rec = make_study(900, {"SaO2": (95.0 - _dip(t, 450, 5.0), rate)})
    [ev] = detect_desaturations(rec)
    assert ev.channels == ("SaO2",) and ev.detail["drop_pct"] == pytest.approx(5.0, abs=0.1)


def test_a_study_without_spo2_is_skipped_with_one_sentence():
    rec = make_study(300, {"Pleth": (np.zeros(300), 1.0)})
    with pytest.raises(DetectorSkipped) as err:
        detect_desaturations(rec)
    text = str(err.value)
    assert text.startswith("No SpO2 channel: desaturations were not detected (looked for SpO2")
    assert text.endswith(".") and text.count(". ") == 0


def test_a_labs_desaturation_marks_get_their_drop_from_the_spo2_trace():
    # EDF+ "SpO2 desaturation" annotations carry no drop: measured, so the ODI counts them
    from app.core.detectors.desaturation import with_measured_drops
    from app.core.scoring.event_indices import event_indices
    from app.core.scoring.events import Event, EventSource, EventType
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.signals.recording import Recording

    t = np.arange(0, 3600, 1.0)
    spo2 = np.full(t.size, 96.0)
    marks = []
    for k, depth in enumerate((3.4, 5.0, 2.0)):
        at = 600 + 900 * k
        dip = np.clip(1 - np.abs(t - (at + 15)) / 15, 0, 1)
        spo2 -= depth * dip
        marks.append(Event(EventType.DESATURATION, float(at), 20.0, (), EventSource.STUDY))
    rec = Recording.from_signals([("SpO2", spo2, 1.0, "%"),
                                  ("C4-M1", np.zeros(360000), 100.0, "uV")])
    measured = with_measured_drops(rec, marks)
    drops = [e.detail["drop_pct"] for e in measured]
    assert drops == pytest.approx([3.4, 5.0, 2.0], abs=0.05)
    assert all(e.detail["drop_measured"] for e in measured)
    table = event_indices(measured, Hypnogram([2] * 120)).scored.overall
    assert (table["odi3"].count, table["odi4"].count) == (2, 1)
    assert with_measured_drops(Recording.from_signals(
        [("C4-M1", np.zeros(360000), 100.0, "uV")]), marks) == marks  # no SpO2: as they are
