"""Measuring a wave: duration and peak to peak as the screen shows it, paper units."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.signals.measure import gain_for, measure, mm_per_second, uv_per_mm
from app.core.signals.recording import Recording
from app.errors import StudyError


@pytest.fixture
def rec():
    t = np.arange(0, 60, 0.01)
    x = 10 * np.sin(2 * np.pi * 10 * t)  # 20 uV p-p alpha...
    x[(t >= 20) & (t < 21)] += 60 * np.sin(2 * np.pi * (t[(t >= 20) & (t < 21)] - 20))
    return Recording.from_signals([("C4-M1", x, 100.0, "uV")])  # ...and a 1-s slow wave


def test_a_slow_wave_measures_its_peak_to_peak_through_the_screen_filter(rec):
    raw = measure(rec, "C4-M1", 20.0, 21.0, filters=False)
    assert raw.duration_sec == pytest.approx(1.0) and 120 < raw.peak_to_peak_uv < 145
    slow = measure(rec, "C4-M1", 21.0, 20.0, highpass_hz=0.3, lowpass_hz=4.0)  # any order
    assert slow.t0 == 20.0 and 100 < slow.peak_to_peak_uv < 125  # the alpha filtered out
    assert "1.00 s" in slow.text() and "peak to peak" in slow.text()


@pytest.mark.parametrize("t0, t1, words", [(-3, 2, "outside the recording"),
                                           (55, 65, "outside the recording"),
                                           (10, 10.005, "less than two samples"),
                                           (float("nan"), 2, "no valid time")])
def test_bad_measurements_are_a_sentence(rec, t0, t1, words):
    with pytest.raises(StudyError, match=words):
        measure(rec, "C4-M1", t0, t1)


def test_paper_units_round_trip():
    # a 96-dpi screen, a 60-px row: half a row is 30 px = 7.94 mm
    g = gain_for(7.0, 50.0, 60.0, 96.0)
    assert uv_per_mm(50.0, g, 60.0, 96.0) == pytest.approx(7.0)
    assert mm_per_second(30.0, 1134.0, 96.0) == pytest.approx(10.0, rel=1e-3)  # 300 mm
    with pytest.raises(StudyError, match="positive"):
        gain_for(0.0, 50.0, 60.0, 96.0)
