"""Apneas: a 90 % flow drop for 10 s, typed by whether the belts keep moving."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import breaths, make_study

from app.core.detectors.apnea import detect_apneas
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import EventSource, EventType

RNG = np.random.default_rng(7)


def _night(flow_off, effort_off, *, seconds: float = 900.0, names=("Airflow", "Thorax",
                                                                   "Abdomen")):
    t, wave = breaths(seconds)
    noise = lambda: 0.01 * RNG.normal(size=t.size)  # noqa: E731 - a sensor's own noise
    flow = np.where(flow_off(t), 0.0, wave) + noise()
    effort = np.where(effort_off(t), 0.0, wave) + noise()
    chans = {names[0]: (flow, 10.0)}
    if len(names) > 1:
        chans[names[1]] = (effort, 10.0)
    if len(names) > 2:
        chans[names[2]] = (-0.8 * effort, 10.0)
    return make_study(seconds, chans)


def _stop(a: float, b: float):
    return lambda t: (t >= a) & (t < b)


def _never(t):
    return np.zeros(t.size, bool)


def test_an_apnea_with_continuing_effort_is_obstructive():
    [ev] = detect_apneas(_night(_stop(400, 418), _never))
    assert ev.type is EventType.OBSTRUCTIVE_APNEA
    assert ev.onset == pytest.approx(400, abs=1.0) and ev.duration == pytest.approx(18, abs=1.5)
    assert ev.source is EventSource.DETECTOR and ev.channels == ("Airflow", "Thorax", "Abdomen")
    assert ev.detail["flow_drop_pct"] >= 90 and ev.detail["effort_absent_pct"] == 0
    assert 0.5 <= ev.confidence <= 1.0


def test_an_apnea_without_effort_throughout_is_central():
    [ev] = detect_apneas(_night(_stop(400, 418), _stop(400, 418)))
    assert ev.type is EventType.CENTRAL_APNEA
    assert ev.detail["effort_absent_pct"] == 100


def test_effort_absent_first_then_resuming_is_mixed():
    [ev] = detect_apneas(_night(_stop(400, 420), _stop(400, 410)))
    assert ev.type is EventType.MIXED_APNEA
    assert ev.detail["effort_absent_first_third_pct"] == 100
    assert ev.detail["effort_absent_last_third_pct"] == 0


def test_a_pause_shorter_than_10_s_is_no_apnea():
    assert detect_apneas(_night(_stop(400, 408), _never)) == []


def test_a_half_drop_is_a_hypopnea_candidate_not_an_apnea():
    t, wave = breaths(900)
    flow = np.where((t >= 400) & (t < 420), 0.5, 1.0) * wave
    rec = make_study(900, {"Airflow": (flow, 10.0), "Thorax": (wave, 10.0)})
    assert detect_apneas(rec) == []


def test_a_sensor_lost_for_minutes_is_a_note_not_an_apnea():
    notes = []
    rec = _night(_stop(300, 600), _never)
    assert detect_apneas(rec, notes=notes) == []
    assert len(notes) == 1 and "Airflow is almost flat from 0:05:00" in notes[0]


def test_nasal_pressure_stands_in_for_a_missing_thermistor_and_says_so():
    [ev] = detect_apneas(_night(_stop(400, 418), _never, names=("Nasal Pressure", "Chest")))
    assert ev.type is EventType.OBSTRUCTIVE_APNEA
    assert ev.detail["sensor"] == "nasal pressure (AASM alternative)"


def test_a_fast_flow_channel_is_read_in_chunks_at_10_hz():
    rate, seconds = 256.0, 3700.0          # more than two 30-min chunks
    t = np.arange(0, seconds, 1 / rate)
    wave = np.sin(2 * np.pi * t / 4.0)
    flow = np.where((t >= 1790) & (t < 1812), 0.0, wave)   # across the first chunk edge
    rec = make_study(seconds, {"Airflow": (flow, rate), "Thorax": (wave, rate)})
    [ev] = detect_apneas(rec)
    assert ev.onset == pytest.approx(1790, abs=1.0) and ev.duration == pytest.approx(22, abs=1.5)


def test_without_a_flow_sensor_apneas_are_skipped_with_one_sentence():
    t, wave = breaths(300)
    with pytest.raises(DetectorSkipped, match=r"^No oronasal thermal airflow or nasal pressure "
                                              r"channel: apneas were not detected \(looked for "
                                              r"Airflow, .*\)\.$"):
        detect_apneas(make_study(300, {"Thorax": (wave, 10.0)}))


def test_without_effort_belts_apneas_are_found_untyped_and_say_so():
    t, wave = breaths(300)
    flow = np.where((t >= 120) & (t < 140), 0.0, wave)
    notes: list[str] = []
    found = detect_apneas(make_study(300, {"Airflow": (flow, 10.0)}), notes=notes)
    assert [e.type for e in found] == [EventType.APNEA]  # not guessed obstructive
    assert 118 <= found[0].onset <= 122 and found[0].detail["effort"] == "unreadable"
    assert any("not typed obstructive, central or mixed" in n for n in notes)
