"""All detectors on one study: each proposes events with what a technician needs to check
them, skips with a sentence what it cannot do, and reads the study in chunks."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import make_study

from app.core.detectors import DETECTORS, detect_events
from app.core.detectors.reading import CHUNK_SEC, map_chunks, read_reduced
from app.core.scoring.events import EventSource, EventType, check_event
from app.core.scoring.hypnogram import Hypnogram
from app.core.signals.channels import Source

SECONDS = 1800.0


def _full_study():
    rng = np.random.default_rng(3)
    t10 = np.arange(0, SECONDS, 0.1)
    wave = np.sin(2 * np.pi * t10 / 4.0)
    stop = (t10 >= 600) & (t10 < 620)
    half = (t10 >= 1200) & (t10 < 1220)
    flow = np.where(stop, 0.0, wave) + 0.01 * rng.normal(size=t10.size)
    pres = np.where(stop, 0.0, np.where(half, 0.5, 1.0)) * wave
    t1 = np.arange(SECONDS)
    spo2 = 96.0 - 4.0 * np.exp(-(((t1 - 640) / 8) ** 2)) - 3.5 * np.exp(-(((t1 - 1240) / 8) ** 2))
    leg = rng.normal(0, 2.0, int(SECONDS * 100))
    tl = np.arange(leg.size) / 100
    for k in range(5):
        m = (tl >= 900 + 20 * k) & (tl < 902 + 20 * k)
        leg[m] += rng.normal(0, 15.0, m.sum())
    chans = {"Airflow": (flow, 10.0), "Nasal Pressure": (pres, 10.0), "Thorax": (wave, 10.0),
             "Abdomen": (-wave, 10.0), "SpO2": (spo2, 1.0), "LAT": (leg, 100.0)}
    return make_study(SECONDS, chans)


def test_every_detector_runs_and_each_event_can_be_reviewed():
    rec = _full_study()
    hyp = Hypnogram.from_labels(["N2"] * int(SECONDS // 30))
    result = detect_events(rec, hyp)
    assert result.skipped == []
    assert set(result.seconds) == set(DETECTORS)
    kinds = [(e.type, round(e.onset)) for e in result.events
             if e.type is not EventType.AROUSAL]
    assert (EventType.OBSTRUCTIVE_APNEA, 600) in kinds
    assert (EventType.HYPOPNEA, 1200) in kinds
    assert sum(t is EventType.DESATURATION for t, _ in kinds) == 2
    assert sum(t is EventType.PLM for t, _ in kinds) == 5
    for e in result.events:
        assert e.source is EventSource.DETECTOR
        assert e.confidence is not None and 0.0 <= e.confidence <= 1.0
        assert e.channels and e.detail
        check_event(e, recording_sec=rec.duration_sec)
    hypopnea = next(e for e in result.events if e.type is EventType.HYPOPNEA)
    assert hypopnea.detail["desaturation_pct"] == pytest.approx(3.5, abs=0.1)
    assert result.channels["pressure"] == "Nasal Pressure"


def test_rule_1b_drops_the_hypopnea_a_3_5_percent_desaturation_confirmed():
    rec = _full_study()
    result = detect_events(rec, None, hypopnea_rule="1B")
    assert not any(e.type is EventType.HYPOPNEA for e in result.events)
    assert any(s.startswith("No hypnogram: arousals were not detected") for s in result.skipped)


def test_a_study_with_only_eeg_skips_every_detector_with_one_sentence_each():
    rec = make_study(600, {})
    result = detect_events(rec, Hypnogram.from_labels(["N2"] * 20))
    assert result.events == []
    assert len(result.skipped) == 4          # arousals run: the EEG is there
    for sentence in result.skipped:
        assert sentence.endswith(".") and sentence.startswith("No ")
        assert "looked for" in sentence


def test_detectors_never_read_more_than_a_chunk_at_a_time():
    rec = _full_study()
    spans = []
    real = rec.get_window

    def spy(t0, t1, channels=None):
        spans.append(t1 - t0)
        return real(t0, t1, channels)

    rec.get_window = spy
    detect_events(rec, Hypnogram.from_labels(["N2"] * int(SECONDS // 30)))
    assert spans and max(spans) <= CHUNK_SEC + 1e-6


def test_chunked_reading_equals_reading_whole():
    x = np.arange(10000, dtype=float)
    rec = make_study(100, {"Flow": (x, 100.0)})
    src = Source("Flow", "Flow")
    reduced, rate = read_reduced(rec, src, 10.0, chunk_sec=7.0)
    assert rate == 10.0 and np.allclose(reduced, x.reshape(-1, 10).mean(axis=1))
    ident = map_chunks(rec, src, lambda v, sf: v[::10], 10.0, chunk_sec=7.0, pad_sec=1.0)
    assert np.allclose(ident, x[::10])
