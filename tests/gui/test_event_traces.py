"""What the events view draws: which channels (by the names real montages use), in what
order, over which window, and how SpO2 and heart rate are scaled."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_edf

from app.core.signals.recording import Recording
from app.gui.event_traces import event_rows, kind_of, read_event_traces


@pytest.mark.parametrize("name, kind", [
    ("Airflow", "flow"), ("AIRFLOW", "flow"), ("Flow Patient", "flow"),
    ("Resp oro-nasal", "flow"), ("Thermistor", "flow"),
    ("Nasal Pressure", "pressure"), ("PTAF", "pressure"), ("Pres", "pressure"),
    ("NEW AIR", "pressure"), ("Thorax", "thorax"), ("THOR RES", "thorax"),
    ("Effort THO", "thorax"), ("Chest", "thorax"), ("Abdomen", "abdomen"),
    ("ABDO RES", "abdomen"), ("Effort ABD", "abdomen"), ("SpO2", "spo2"), ("SaO2", "spo2"),
    ("Position", "position"), ("POSITION", "position"), ("HR", "hr"), ("Pulse", "hr"),
    ("Leg L", "leg"), ("LAT", "leg"), ("EEG C4-M1", None), ("EOG E1-M2", None),
    ("EMG Chin", None), ("ECG", None),
])
def test_channel_kinds(name, kind):
    assert kind_of(name) == kind


@pytest.fixture
def study(tmp_path):
    fs, sec = 32.0, 600
    t = np.arange(int(fs * sec)) / fs
    spo2 = np.where((t > 200) & (t < 240), 91.0, 96.0)
    beats = np.zeros(int(256 * sec))
    beats[(np.arange(1, sec, 1.0) * 256).astype(int)] = 1000.0  # 60 bpm
    return write_edf(tmp_path / "resp.edf", {
        "EEG C4-M1": (np.zeros(int(100 * sec)), 100.0),
        "SpO2": (spo2, fs), "Thorax": (np.sin(2 * np.pi * 0.25 * t) * 300, fs),
        "Airflow": (np.sin(2 * np.pi * 0.25 * t) * 100, fs), "ECG": (beats, 256.0)})


def test_rows_in_reading_order_with_heart_rate_from_the_ecg(study):
    rows = event_rows(Recording.open(study))
    assert [r.kind for r in rows] == ["flow", "thorax", "spo2", "hr"]
    assert rows[-1].derived and rows[-1].channel == "ECG"


def test_spo2_on_a_fixed_band_and_heart_rate_in_bpm(study):
    rec = Recording.open(study)
    rows = event_rows(rec)
    traces = {tr.row.kind: tr for tr in read_event_traces(rec, rows, 150, 270, n_px=400)}
    spo2 = traces["spo2"]
    assert spo2.scale == "80-100 %"
    fall = spo2.y[(spo2.x > 205) & (spo2.x < 235)]
    base = spo2.y[spo2.x < 195]
    assert np.allclose(fall, 0.45, atol=0.01) and np.allclose(base, 0.2, atol=0.01)  # 91, 96
    hr = traces["hr"]
    assert hr.x.min() >= 150 and hr.x.max() < 270 and hr.scale.endswith("bpm")
    lo, hi = (float(v) for v in hr.scale.split()[0].split("-"))
    assert np.allclose(hi - hr.y * (hi - lo), 60, atol=1)
    flow = traces["flow"]
    assert flow.scale == "auto" and 0 <= np.nanmin(flow.y) and np.nanmax(flow.y) <= 1


def test_a_study_without_event_channels_has_no_rows(tmp_path):
    path = write_edf(tmp_path / "eeg.edf", {"EEG C4-M1": (np.zeros(3000), 100.0)})
    assert event_rows(Recording.open(path)) == []


def test_ordered_peaks_keep_every_extreme_in_time_order():
    from app.gui.event_traces import ordered_peaks

    t = np.arange(20000) / 32.0
    y = np.sin(2 * np.pi * 0.25 * t)
    y[5003] = 9.0  # a spike survives
    pos, vals = ordered_peaks(y, 500)
    assert np.all(np.diff(pos) > 0)  # no two points at one x: no staircase
    assert vals.max() == 9.0 and np.isclose(vals.min(), y.min())
    assert np.allclose(vals, y[pos.astype(int)])
    short = ordered_peaks(y[:100], 500)
    assert np.array_equal(short[1], y[:100])
