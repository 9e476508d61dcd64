"""Defects a technician met scoring a real study: long row names, extra EEG rows' scale,
the heatmap under the wrong verdict, the panel's width, bulk accept, the current epoch
in a 5-min page, gains kept with the view, Settings' heatmap method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_fakes import SPEC, TRUTH  # noqa: E402

from app.core.scoring.stages import Stage  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("defects") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=7, sfreq=100.0, montage="full")
    return path


@pytest.fixture
def window(scoring_window):
    return scoring_window


def add_run(ws, staged=None):
    run = ws.start_run("fake/1", SPEC, {"synthetic_only": True, "bundle": "x"})
    idx = np.arange(len(TRUTH)) if staged is None else np.asarray(staged)
    p = np.full((len(idx), 5), 0.05, np.float32)
    p[np.arange(len(idx)), TRUTH[idx]] = 0.8
    ws.add_model_batch(run, idx, p)
    return run


def test_long_row_names_are_elided_with_the_full_name_on_hover(window):
    from PySide6.QtGui import QFontMetrics

    from app.gui.qt_trace_view import RowLabelAxis

    shown = window.study_view.traces.left_axis.shown  # the real rows: none elided
    assert all("…" not in t for t in shown) and any("C4" in t for t in shown)
    axis = RowLabelAxis()  # rows are set before the axis is ever laid out
    axis.setWidth(140)
    long = "EEG Fp1-Ref (left frontopolar, headband electrode 3)"
    axis.set_rows(["EEG C4-M1", long], ["50 µV", "50 µV"])
    metrics = QFontMetrics(axis.style.get("tickFont") or axis.font())
    assert axis.shown[0] == "EEG C4-M1  50 µV"  # short names untouched
    assert "…" in axis.shown[1] and axis.shown[1].endswith("50 µV")  # the scale stays
    assert metrics.horizontalAdvance(axis.shown[1]) <= 140
    assert axis.label_at(1.2) == long and axis.label_at(7) == ""


def test_extra_eeg_rows_use_the_physical_scale(window):
    traces = window.study_view.traces
    extra = [r for r in traces.rows if r.role == "EEG" and r.slot is None]
    assert extra, "the full montage has EEG channels beyond the three slots"
    assert all(r.full_scale_uv == 50.0 for r in extra)
    ticks = traces.left_axis.shown
    assert all("µV" in ticks[traces.rows.index(r)] for r in extra)


def test_heatmap_only_under_the_run_it_explains_on_a_staged_epoch(qtbot, window):
    ws = window.c.workspace
    traces, model = window.study_view.traces, window.study_view.model_view
    a = add_run(ws, staged=np.arange(0, len(TRUTH) - 2))
    heat = np.ones((SPEC.height, SPEC.width))
    ws.set_epoch(3)
    ws.set_explanation(3, heat, SPEC)
    assert ws.explanation_for() is not None and traces.heat.isVisible()
    yasa = ws.start_run("yasa/0.7", None, {})
    ws.add_model_batch(yasa, np.arange(len(TRUTH)), np.full((len(TRUTH), 5), 0.2, np.float32))
    ws.set_active_run(yasa)  # a YASA verdict: the model's heatmap is not its reason
    assert ws.explanation_for() is None and not traces.heat.isVisible()
    qtbot.waitUntil(lambda: model.importance.items == [])  # the panel follows (debounced)
    ws.set_active_run(a)
    assert traces.heat.isVisible()
    ws.set_epoch(len(TRUTH) - 1)  # this run did not stage it
    ws.set_explanation(len(TRUTH) - 1, heat, SPEC)
    assert ws.explanation_for() is None and not traces.heat.isVisible()
    assert window.c.request_explanation() is None  # nor is one asked for


def test_the_model_panel_keeps_its_width_when_the_heatmap_arrives(qtbot, window):
    from PySide6.QtWidgets import QApplication

    ws = window.c.workspace
    add_run(ws)
    QApplication.processEvents()
    before = window.study_view.side.width()
    ws.set_explanation(ws.epoch, np.random.default_rng(0).random((SPEC.height, SPEC.width)),
                       SPEC)
    qtbot.wait(50)
    assert window.study_view.model_view.importance.items
    assert window.study_view.side.width() == before


def test_bulk_accept_asks_first_and_defaults_to_cancel(qtbot, window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    ws = window.c.workspace
    add_run(ws)
    ws.score(Stage.N3, epoch=0, advance=False)
    seen = []

    def answer(click_accept: bool) -> None:
        box = next(b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox)
                   and b.objectName() == "psglens-bulk-accept" and b.isVisible())
        seen.append((box.text(), box.defaultButton().text()))
        want = f"Accept {len(TRUTH) - 1} epochs" if click_accept else "Cancel"
        next(b for b in box.buttons() if b.text() == want).click()

    QTimer.singleShot(100, lambda: answer(False))
    window.accept_unscored()
    assert (ws.technician.stages[1:] == Stage.UNSCORED).all()
    assert f"for the {len(TRUTH) - 1} epoch(s)" in seen[0][0] and seen[0][1] == "Cancel"
    QTimer.singleShot(100, lambda: answer(True))
    window.accept_unscored()
    assert (ws.technician.stages[1:] == TRUTH[1:]).all() and ws.technician.stages[0] == 3


def test_the_current_epoch_is_outlined_in_a_5_min_page(window):
    ws = window.c.workspace
    lines = window.study_view.traces.current_lines
    assert lines.getData()[0] is None or len(lines.getData()[0]) == 0  # 30 s: it is the page
    ws.set_view(window_sec=300.0)
    x, _ = window.study_view.traces.current_lines.getData()
    assert sorted(set(np.round(x, 6))) == [0.0, ws.epoch_sec]
    assert window.study_view.traces.current_lines.opts["pen"].color().name() == \
        window.theme.foreground.lower()


def test_gains_are_restored_with_the_view(qtbot, window):
    ws = window.c.workspace
    traces = window.study_view.traces
    traces.change_gain(2.0, row=1)
    label = traces.rows[1].label
    path = ws.path
    window.c.close_study()
    assert window.c.open_study(path)
    traces = window.study_view.traces
    row = [r.label for r in traces.rows].index(label)
    assert traces.gains[row] == pytest.approx(2.0) and traces.gains[0] == 1.0
    assert "25 µV" in traces.left_axis.shown[row]  # 50 µV at twice the gain


def test_settings_offer_the_heatmap_method(qtbot, window):
    from app.core.explain import METHODS
    from app.gui.dialogs.settings import HEATMAP_METHODS, SettingsDialog

    assert sorted(v for _, v in HEATMAP_METHODS) == sorted(METHODS)
    dlg = SettingsDialog(window.c.settings, window)
    qtbot.addWidget(dlg)
    assert dlg.method.currentData() == window.c.settings.explain_method == "ig"
    dlg.method.setCurrentIndex(dlg.method.findData("ablation"))
    assert dlg.result_settings().explain_method == "ablation"


def test_model_view_names_yasas_stage_where_a_finished_yasa_run_disagrees(qtbot, window):
    ws = window.c.workspace
    model = add_run(ws)
    n = len(TRUTH)
    peer_stages = TRUTH.copy()
    other = int((TRUTH[0] + 1) % 5)
    peer_stages[0] = other  # YASA says otherwise on the first epoch only
    yasa = ws.start_run("yasa/0.8.1", None)
    p = np.full((n, 5), 0.05, np.float32)
    p[np.arange(n), peer_stages] = 0.8
    ws.add_model_batch(yasa, np.arange(n), p)
    mv = window.study_view.model_view
    labels = ["W", "N1", "N2", "N3", "REM"]
    ws.set_epoch(0)
    for active in (yasa, model):  # either run shown, the other side is named
        ws.set_active_run(active)
        mv.refresh()
        text = mv.summary.text()
        assert f"YASA: {labels[other]} (model: {labels[int(TRUTH[0])]})" in text
        assert f"YASA stages 1 of {n} epochs differently" in text
    ws.set_epoch(1)
    mv.refresh()
    assert "(model:" not in mv.summary.text()  # they agree here
