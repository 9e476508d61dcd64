"""The GUI's widgets on their own (offscreen): traces, heatmap painting, hypnogram,
model view, themes; and the Qt-free trace helpers they draw from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.scoring.stages import Stage  # noqa: E402
from app.core.signals.render import _filter, filter_signal  # noqa: E402
from app.core.signals.render_spec import RenderSpec, RowSpec  # noqa: E402
from app.core.workspace import Workspace  # noqa: E402
from app.gui.qt_hypnogram import HypnogramView, density_rgba, stage_levels  # noqa: E402
from app.gui.qt_model_view import ModelView  # noqa: E402
from app.gui.qt_trace_view import TraceView  # noqa: E402
from app.gui.study_view import StudyView  # noqa: E402
from app.gui.theme import DARK, LIGHT  # noqa: E402
from app.gui.trace_data import (  # noqa: E402
    peak_decimate,
    read_traces,
    scale_rows,
    trace_rows,
)

N = 20
SPEC = RenderSpec.preset("clinical", width=120, height=120)


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("widgets") / "night.edf"
    make_study_file(path, stages=np.resize([0, 1, 2, 3, 4], N), seed=1, sfreq=100.0)
    return path


@pytest.fixture
def ws(study_master, tmp_path):
    dst = tmp_path / "night.edf"
    dst.write_bytes(study_master.read_bytes())
    w = Workspace.open(dst, who="tech")
    yield w
    w.close()


def pixel(widget, plot, x: float, y: float):
    """Colour of the grabbed ``widget`` at view coordinates (x, y) of ``plot``."""
    vb = plot.getPlotItem().vb
    scene = vb.mapViewToScene(QPointF(x, y))
    local = plot.mapFromScene(scene)
    pos = plot.mapTo(widget, local)
    return widget.grab().toImage().pixelColor(pos.x(), pos.y())


# -- Qt-free helpers ------------------------------------------------------------------
def test_trace_rows_follow_the_aasm_montage(ws):
    rows = trace_rows(ws.recording, ws.slot_sources())
    assert [r.label for r in rows] == ["F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin",
                                       "ECG"]
    assert [r.role for r in rows][:6] == ["EEG"] * 3 + ["EOG"] * 2 + ["EMG"]
    assert rows[0].highpass_hz == 0.3 and rows[0].lowpass_hz == 35.0
    data = read_traces(ws.recording, rows, 30.0, 60.0)
    assert all(d.data.shape == (3000,) and d.data.dtype == np.float32 for d in data)
    raw = read_traces(ws.recording, rows, 30.0, 60.0, filters=False)
    assert not np.allclose(raw[0].data, data[0].data)


def test_trace_filter_is_the_renderers_filter():
    x = np.random.default_rng(0).normal(0, 30, 4000)
    spec = RenderSpec.preset("clinical")
    row = RowSpec.for_slot("central")
    assert np.array_equal(filter_signal(x, 100.0, 0.3, 35.0), _filter(x, 100.0, row, spec))


def test_peak_decimation_keeps_every_extreme():
    y = np.zeros(100_000, np.float32)
    y[12_345], y[77_777] = 9.0, -7.0
    pos, vals = peak_decimate(y, 500)
    assert len(vals) == 1000 and vals.max() == 9.0 and vals.min() == -7.0
    assert abs(pos[np.argmax(vals)] - 12_345) < 100_000 / 500
    short = np.arange(10.0)
    assert np.array_equal(peak_decimate(short, 500)[1], short)
    with pytest.raises(ValueError):
        peak_decimate(y, 0)


def test_scale_rows_clips_and_autoscales(ws):
    rows = trace_rows(ws.recording, ws.slot_sources())
    data = read_traces(ws.recording, rows, 0.0, 30.0)
    out = scale_rows(data, np.ones(len(rows)))
    assert all(np.nanmax(np.abs(o)) <= 1.0 for o in out)
    doubled = scale_rows(data, np.full(len(rows), 2.0))
    small = np.abs(out[0]) < 0.3
    assert np.allclose(doubled[0][small], 2 * out[0][small], atol=1e-6)


def test_stage_levels_never_draw_unscored_as_wake():
    lev = stage_levels(np.array([Stage.W, Stage.UNSCORED, Stage.ARTIFACT, Stage.REM, Stage.N3]))
    assert lev[0] == 0 and np.isnan(lev[1]) and np.isnan(lev[2]) and lev[3] == 1 and lev[4] == 4
    p = np.array([[1, 0, 0, 0, 0], [0.5, 0, 0, 0, 0.5]], np.float32)
    img = density_rgba(p, np.array([True, False]), [(255, 0, 0), (0, 0, 0), (0, 0, 0),
                                                    (0, 0, 0), (0, 0, 255)], height=10)
    assert img.shape == (10, 2, 4)
    assert (img[:, 0, :3] == (255, 0, 0)).all() and (img[:, 1, 3] == 0).all()


# -- widgets --------------------------------------------------------------------------
def test_trace_view_flips_pages_and_paints_the_heatmap_behind_the_traces(qtbot, ws):
    tv = TraceView(ws, LIGHT, heat_opacity=1.0)
    qtbot.addWidget(tv)
    tv.resize(1000, 600)
    tv.show()
    qtbot.waitExposed(tv)
    x0, y0 = tv.curves[1].getData()
    ws.step(3)
    x1, y1 = tv.curves[1].getData()
    assert not np.allclose(y0[:100], y1[:100]) and "Epoch 4" in tv.header.text()
    assert x1.min() >= 0 and x1.max() <= 30
    # a synthetic heatmap on the central row (image row 1), first ~10 s of the epoch,
    # explaining a run that staged it (no heatmap is shown without one)
    run = ws.start_run("fake", SPEC)
    ws.add_model_batch(run, np.arange(N), np.full((N, 5), 0.2, np.float32))
    heat = np.zeros((SPEC.height, SPEC.width))
    heat[22:38, :40] = 1.0
    ws.set_explanation(ws.epoch, heat, SPEC)
    assert tv.heat.isVisible()
    assert tv.heat_grid[1, :10].sum() > 0 and tv.heat_grid[[0, 2, 3, 4, 5, 6]].sum() == 0
    hot = pixel(tv, tv.plot, 4.5, 1.45)  # between grid lines
    cold = pixel(tv, tv.plot, 25.5, 1.45)
    assert hot.red() > hot.blue() + 60  # heat colour under the trace
    assert abs(cold.red() - cold.blue()) < 30  # plain background elsewhere
    tv.set_heat_opacity(0.0)
    assert tv.heat.opacity() == 0.0
    tv.set_heat_visible(False)
    assert not tv.heat.isVisible()
    ws.step(1)  # the heatmap belongs to one epoch
    tv.set_heat_visible(True)
    assert not tv.heat.isVisible()
    tv.detach()


def test_trace_view_gain_and_long_windows(qtbot, ws):
    tv = TraceView(ws, LIGHT)
    qtbot.addWidget(tv)
    tv.resize(900, 500)
    tv.show()
    before = tv.curves[0].getData()[1].copy()
    tv.change_gain(2.0, row=0)
    after = tv.curves[0].getData()[1]
    small = np.abs(before) < 0.3
    assert np.allclose(after[small], 2 * before[small], atol=1e-4)
    assert "25 µV" in dict(tv.left_axis._tickLevels[0])[0]
    ws.set_view(window_sec=300.0)
    x, _ = tv.curves[1].getData()
    assert len(x) <= 2 * max(200, tv.plot.width()) and x.max() - x.min() > 250
    tv.detach()


def test_hypnogram_shows_unscored_as_unscored_and_jumps_on_click(qtbot, ws):
    hv = HypnogramView(ws, LIGHT)
    qtbot.addWidget(hv)
    hv.resize(900, 260)
    hv.show()
    qtbot.waitExposed(hv)
    _, y = hv.tech_line.getData()
    assert np.isnan(y).all()  # nothing scored: no line at all, certainly not at Wake
    ws.score(Stage.W, epoch=3, advance=False)
    ws.score(Stage.N2, epoch=4, advance=False)
    x, y = hv.tech_line.getData()
    assert set(np.unique(y[np.isfinite(y)])) == {0.0, 3.0}
    band = hv.unscored.image
    assert band[0, 3, 3] == 0 and band[0, 0, 3] > 0
    run = ws.start_run("fake", SPEC)
    p = np.full((N, 5), 0.05, np.float32)
    p[:, 2] = 0.8
    p[5] = [0.3, 0.2, 0.2, 0.2, 0.1]
    ws.add_model_batch(run, np.arange(N), p)
    assert hv.density.isVisible()
    lx, _ = hv.low_marks.getData()
    assert list(np.unique(lx)) == [5.5]
    dx, _ = hv.dis_marks.getData()
    assert list(np.unique(dx)) == [3.5]  # technician W vs model N2
    peer = p.copy()
    peer[9] = [0.8, 0.05, 0.05, 0.05, 0.05]  # YASA: W where the model is sure of N2
    yasa = ws.start_run("yasa/0.8.1", None)
    ws.add_model_batch(yasa, np.arange(N), peer)
    ws.set_active_run(run)
    lx, _ = hv.low_marks.getData()
    assert list(np.unique(lx)) == [5.5, 9.5]  # the Unsure row: low confidence or contested
    vb = hv.plot.getPlotItem().vb
    pos = hv.plot.mapFromScene(vb.mapViewToScene(QPointF(12.5, 2.0)))
    qtbot.mouseClick(hv.plot.viewport(), Qt.LeftButton, pos=pos)
    assert ws.epoch == 12 and hv.cursor.value() == 12.5
    # the wheel zooms in time only, around the mouse
    wheel = QWheelEvent(QPointF(pos), hv.plot.viewport().mapToGlobal(QPointF(pos)),
                        QPoint(0, 0), QPoint(0, 240), Qt.NoButton, Qt.NoModifier,
                        Qt.NoScrollPhase, False)
    QApplication.sendEvent(hv.plot.viewport(), wheel)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x1 - x0 < N * 0.9 and x0 < 12.5 < x1
    assert (y0, y1) == pytest.approx((-0.6, 9.7), abs=0.05)
    ws.set_epoch(0)  # the cursor stays in view when zoomed in
    (x0, x1), _ = vb.viewRange()
    assert x0 <= 0.5 <= x1
    hv.detach()


def test_model_view_shows_the_models_picture_and_the_overlay(qtbot, ws):
    mv = ModelView(ws, LIGHT, fallback_spec=SPEC, heat_opacity=1.0)
    qtbot.addWidget(mv)
    mv.resize(400, 700)
    mv.show()
    qtbot.waitExposed(mv)
    qtbot.waitUntil(lambda: mv.image.image is not None)
    assert (mv.image.image.width(), mv.image.image.height()) == (120, 120)
    assert "no run yet" in mv.summary.text()
    run = ws.start_run("fake", SPEC)
    p = np.tile([[0.1, 0.1, 0.6, 0.1, 0.1]], (N, 1)).astype(np.float32)
    ws.add_model_batch(run, np.arange(N), p)
    heat = np.zeros((120, 120))
    heat[:, :60] = 1.0
    ws.set_explanation(ws.epoch, heat, SPEC)
    qtbot.waitUntil(lambda: bool(mv.importance.items))
    assert mv.importance.items[0][1] == pytest.approx(1 / 6, abs=0.02)
    img = mv.image.grab().toImage()
    r = mv.image.target_rect()
    left = img.pixelColor(int(r.left() + r.width() * 0.25), int(r.top() + 3))
    right = img.pixelColor(int(r.left() + r.width() * 0.75), int(r.top() + 3))
    assert left.red() > left.blue() + 60 and abs(right.red() - right.blue()) < 40
    assert "N2" in mv.summary.text() and "60%" in mv.summary.text()
    assert [i[0] for i in mv.bars.items] == ["W", "N1", "N2", "N3", "REM"]
    assert mv.bars.items[2][3] is True  # the model's stage in bold
    mv.detach()


def test_model_view_says_a_smoothed_stage_and_what_the_picture_alone_said(qtbot, ws):
    mv = ModelView(ws, LIGHT, fallback_spec=SPEC)
    qtbot.addWidget(mv)
    fit = {"prior_weight": 1.0, "evidence_weight": 0.3, "temperature": 1.0}
    run = ws.start_run("fake", SPEC, {"smoothing": fit})
    p = np.tile([[0.1, 0.1, 0.6, 0.1, 0.1]], (N, 1)).astype(np.float32)
    p[3] = [0.1, 0.1, 0.1, 0.1, 0.6]          # one REM picture inside N2
    ws.add_model_batch(run, np.arange(N), p)
    ws.set_epoch(3)
    text = mv.summary.text()
    assert "Staged with the night around it; this picture alone:" in text
    assert "REM" in text and "60%" in text and ws.model.stages[3] == 2
    ws.set_epoch(6)
    assert "this picture alone: the same" in mv.summary.text()
    mv.detach()


def test_model_view_warns_of_a_finished_night_unlike_any_real_one(qtbot, ws, monkeypatch):
    from app.core.scoring import plausibility

    monkeypatch.setattr(plausibility, "MIN_HOURS", 0.1)  # the 10-min test night counts
    mv = ModelView(ws, LIGHT, fallback_spec=SPEC)
    qtbot.addWidget(mv)
    run = ws.start_run("fake", SPEC)
    rem = np.tile([[0.05, 0.05, 0.05, 0.05, 0.8]], (N, 1)).astype(np.float32)
    ws.add_model_batch(run, np.arange(N // 2), rem[: N // 2])
    assert "unlike any" not in mv.summary.text()  # half a run says nothing of the night
    ws.add_model_batch(run, np.arange(N // 2, N), rem[N // 2:])
    assert "unlike any of 597 real expert-scored nights (no W; no N2; REM 100%" in \
        mv.summary.text()
    mv.detach()


def test_a_long_model_note_on_a_short_screen_never_draws_over_the_picture(qtbot, ws):
    view = StudyView(ws, LIGHT, fallback_spec=SPEC)
    qtbot.addWidget(view)
    view.resize(1200, 560)  # a laptop screen with the hypnogram below
    view.show()
    qtbot.waitExposed(view)
    fit = {"prior_weight": 1.0, "evidence_weight": 0.3, "temperature": 1.0}
    run = ws.start_run("fake", SPEC, {"smoothing": fit, "missing": "a long sentence " * 40})
    ws.add_model_batch(run, np.arange(N), np.tile([[0.1, 0.1, 0.6, 0.1, 0.1]], (N, 1)))
    qtbot.wait(50)
    mv = view.model_view
    assert mv.summary.geometry().top() >= mv.image.geometry().bottom()
    assert mv.bars.geometry().top() >= mv.summary.geometry().bottom()


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_study_view_in_both_themes(qtbot, ws, theme):
    view = StudyView(ws, theme, fallback_spec=SPEC)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    img = view.traces.plot.grab().toImage()
    bg = img.pixelColor(img.width() - 3, img.height() // 2)
    assert (bg.lightness() > 200) == (theme is LIGHT)
    view.detach()
    ws.step(1)  # a detached view is not called any more
