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


@pytest.fixture
def referential(qtbot, tmp_path, monkeypatch):
    """A window on a referential recording (electrodes against the amplifier's
    reference), where derivations are the technician's to choose."""
    from app.core.synth import make_study_file

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    from gui_fakes import FakeEngine, fake_bundle

    from app.config import Settings
    from app.gui.app import create_window

    study = tmp_path / "ref.edf"
    make_study_file(study, stages=TRUTH, seed=14, sfreq=100.0, montage="referential")
    w = create_window(Settings(default_bundle=str(fake_bundle(tmp_path / "b"))),
                      engine_factory=FakeEngine)
    qtbot.addWidget(w)
    w.show()
    assert w.c.open_study(study)
    yield w
    w.close()


def test_the_montage_editor_derives_hides_and_is_kept_with_the_study(qtbot, referential):
    from app.gui.dialogs.montage import MontageDialog

    w = referential
    ws = w.c.workspace
    dlg = MontageDialog(ws, w)
    qtbot.addWidget(dlg)
    n = len(dlg.montage.rows)
    assert dlg.add_row("EEG C4", "EEG C3")  # a bipolar derivation
    assert len(dlg.montage.rows) == n + 1
    assert not dlg.add_row("EEG C4", "EEG C4")  # a channel minus itself: said, not added
    assert len(dlg.montage.rows) == n + 1 and "itself" in dlg.message.text()
    dlg.table.item(0, 3).setText("fast")  # not a frequency
    assert "not a frequency" in dlg.message.text()
    dlg.table.item(0, 0).setCheckState(Qt.Unchecked)  # hide the first row
    assert not dlg.montage.rows[0].visible
    shown = [r.label for r in dlg.montage.visible_rows]
    dlg.accept_montage()
    tv = w.study_view.traces
    assert [r.label for r in tv.rows] == shown and len(tv.curves) == len(shown)
    assert tv.traces[-1].data.size > 0  # the new derivation is drawn
    path = ws.path
    w.c.close_study()
    assert w.c.open_study(path)
    assert [r.label for r in w.study_view.traces.rows] == shown  # kept in the session


def test_spectrogram_above_the_hypnogram_and_the_epochs_evidence(qtbot, window):
    sv = window.study_view
    ws = window.c.workspace
    qtbot.waitUntil(lambda: sv.spectrogram.spectrogram is not None, timeout=30000)
    spec = sv.spectrogram.spectrogram
    assert spec.n_epochs == ws.n_epochs and spec.psd.shape[1] == spec.freqs.size
    ws.set_epoch(6)  # N3 in the synthetic night
    assert sv.spectrogram.cursor.value() == 6.5
    assert "epoch 7:" in sv.spectrogram.title.text() and "δ" in sv.spectrogram.title.text()
    sv.hypnogram.vb.setXRange(5, 15, padding=0)  # one time axis for both
    lo, hi = sv.spectrogram.vb.viewRange()[0]
    assert (round(lo), round(hi)) == (5, 15)
    qtbot.waitUntil(lambda: sv.evidence.evidence is not None
                    and sv.evidence.evidence.epoch == 6, timeout=5000)
    ev = sv.evidence.evidence
    text = sv.evidence.text.text()
    assert "Slow waves" in text and "Chin EMG" in text
    assert ev.slow_wave_fraction is not None and ("the N3 rule" in text) == ev.meets_n3
    ws.set_epoch(0)  # Wake: less slow-wave activity than the N3 epoch
    qtbot.waitUntil(lambda: sv.evidence.evidence.epoch == 0, timeout=5000)
    assert sv.evidence.evidence.slow_wave_fraction < ev.slow_wave_fraction


def test_scorers_side_by_side_with_the_other_line_and_a_consensus(qtbot, window, tmp_path):
    import numpy as np
    from gui_fakes import SPEC

    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    ws = window.c.workspace
    for e in range(len(TRUTH)):
        ws.score(int(TRUTH[e]), epoch=e, advance=False)
    run = ws.start_run("fake/1", SPEC, {})
    model = TRUTH.copy()
    model[[2, 9]] = (model[[2, 9]] + 1) % 5
    p = np.full((len(TRUTH), 5), 0.05, np.float32)
    p[np.arange(len(TRUTH)), model] = 0.8
    ws.add_model_batch(run, np.arange(len(TRUTH)), p)
    other = TRUTH.copy()
    other[[2, 4]] = 0
    write_hypnogram(Hypnogram(other, scorer="lab-B"), tmp_path / "b.csv")
    assert window.c.import_hypnogram(tmp_path / "b.csv") is not None
    hypno, compare = window.study_view.hypnogram, window.study_view.compare
    qtbot.waitUntil(lambda: hypno.other_line.isVisible())  # lab-B drawn beside
    assert hypno.overlay.scorer == "lab-B"
    compare.all_scorers.setChecked(True)
    qtbot.waitUntil(lambda: compare.comparison is not None)
    cmp = compare.comparison
    assert len(cmp.names) == 3 and sorted(d.epoch for d in cmp.differences) == [2, 4, 9]
    assert compare.jumps.count() == 3 and "Consensus" in compare.jump_title.text()
    assert cmp.consensus.stages[2] == TRUTH[2] or 2 in cmp.ties  # majority or a tie
    compare._jump(compare.jumps.item(1))
    assert ws.epoch == 4


def test_the_page_says_when_the_montage_is_not_what_the_model_reads(qtbot, referential):
    from gui_fakes import SPEC

    from app.core.signals.montage_reading import new_row
    from app.gui.dialogs.montage import MontageDialog

    w = referential
    ws = w.c.workspace
    ws.set_active_run(ws.start_run("fake/1", SPEC, {}))  # a model that reads C4-M1
    dlg = MontageDialog(ws, w)
    qtbot.addWidget(dlg)
    i = next(k for k, r in enumerate(dlg.montage.rows) if r.slot == "central")
    assert dlg._apply(lambda m: m.replaced(i, new_row(ws.recording, "EEG C4", ["EEG C3"],
                                                      slot="central")))
    dlg.accept_montage()
    tv = w.study_view.traces
    assert tv.montage_notes == ["The model was trained on C4-M1 (here C4); the screen "
                                "shows C4-C3."]
    assert "the model reads other derivations" in tv.header.text()
    assert "C4-C3" in tv.header.toolTip()
