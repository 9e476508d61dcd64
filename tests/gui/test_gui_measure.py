"""Measuring on the traces (a drag: duration and peak to peak) and paper scales (uV/mm
and mm/s from Settings, shown in the header)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH  # noqa: E402

from app.errors import StudyError  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("measure") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=12, sfreq=100.0)
    return path


@pytest.fixture
def window(scoring_window):
    return scoring_window


def test_a_drag_on_a_trace_measures_what_the_row_shows(window):
    from app.core.signals.measure import measure

    tv = window.study_view.traces
    ws = window.c.workspace
    ws.set_epoch(6)  # N3 in TRUTH: slow waves on the frontal row
    row = 0
    tv._measure_drag(3.0, row, 4.5, row, False)
    assert tv.measure_line.isVisible() and not tv.measure_text.isVisible()
    tv._measure_drag(3.0, row, 4.5, row, True)
    m = tv.last_measurement
    r = tv.rows[row]
    want = measure(ws.recording, r.source, 6 * 30 + 3.0, 6 * 30 + 4.5,
                   highpass_hz=r.highpass_hz, lowpass_hz=r.lowpass_hz)
    assert m.peak_to_peak_uv == pytest.approx(want.peak_to_peak_uv, rel=0.01)  # as drawn
    assert tv.measure_text.isVisible() and "1.50 s" in tv.measure_text.toPlainText()
    ws.step(1)  # a measurement belongs to its page
    assert not tv.measure_text.isVisible()
    ws.set_epoch(0)
    with pytest.raises(StudyError, match="outside the recording"):
        tv.measure(-5.0, -1.0, row)  # the context before the first epoch


def test_paper_sensitivity_and_timebase(qtbot, window):
    from app.core.signals.measure import uv_per_mm

    tv = window.study_view.traces
    tv.set_paper_scale(7.0, 0.0)
    n = len(tv.rows)
    row_px = (tv.plot.height() - 40) / n
    eeg = [i for i, r in enumerate(tv.rows) if r.role == "EEG"]
    for i in eeg:
        assert uv_per_mm(tv.rows[i].full_scale_uv, tv.gains[i], row_px, tv.dpi()) == \
            pytest.approx(7.0)
    assert "EEG 7.0 µV/mm" in tv.header.text()
    tv.set_paper_scale(0.0, 10.0)
    want = round((tv.plot.width() - 150) / tv.dpi() * 25.4 / 10.0)
    assert window.c.workspace.view.window_sec == max(30.0, want)
    assert "mm/s" in tv.header.text()
    tv.set_paper_scale(0.0, 0.0)
    assert np.allclose(tv.gains, 1.0)
