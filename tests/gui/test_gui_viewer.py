"""The viewer a technician expects (#16): lights off/on from the keyboard, marked on the
hypnogram and used by the statistics and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("viewer") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=13, sfreq=100.0)
    return path


@pytest.fixture
def window(qtbot, scoring_window):
    scoring_window.activateWindow()
    qtbot.waitUntil(scoring_window.isActiveWindow)
    return scoring_window


def test_lights_off_and_on_from_the_keyboard(qtbot, window):
    from PySide6.QtWidgets import QMessageBox

    ws = window.c.workspace
    ws.set_epoch(3)
    qtbot.keyClick(window, Qt.Key_L, Qt.ControlModifier)
    ws.set_epoch(20)
    qtbot.keyClick(window, Qt.Key_L, Qt.ControlModifier | Qt.ShiftModifier)
    assert (ws.lights.off_epoch, ws.lights.on_epoch) == (3, 21)
    lines = window.study_view.hypnogram.lights_lines
    assert [line.isVisible() for line in lines] == [True, True]
    assert [line.value() for line in lines] == [3.0, 21.0]
    inputs = window.c.report_inputs()
    assert (inputs["lights_off_epoch"], inputs["lights_on_epoch"]) == (3, 21)
    assert ws.statistics().lights_off_epoch == 3
    ws.set_epoch(1)  # lights on before lights off: a sentence, nothing changes
    qtbot.keyClick(window, Qt.Key_L, Qt.ControlModifier | Qt.ShiftModifier)
    boxes = [b.text() for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "must come after lights off" in boxes[0]
    assert (ws.lights.off_epoch, ws.lights.on_epoch) == (3, 21)
    for b in window.findChildren(QMessageBox):
        b.close()
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)  # undo: back to the study's own
    assert ws.lights.on_epoch == len(TRUTH) and lines[1].value() == len(TRUTH)  # mark
