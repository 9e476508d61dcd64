"""The events view and list: minutes of flow, effort, SpO2 and heart rate under the EEG
page; drag and a key mark an event (on disk at once, undoable); the list filters,
searches, jumps, and accepts or rejects detected events one by one or in bulk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.core.scoring.events import Event, EventSource, EventType  # noqa: E402

N = 60  # a 30-min night, so the 2- and 5-min timebases differ


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("events") / "night.edf"
    make_study_file(path, stages=np.resize(TRUTH, N), seed=11, sfreq=100.0, montage="full")
    return path


@pytest.fixture
def window(qtbot, scoring_window):
    scoring_window.activateWindow()
    qtbot.waitUntil(scoring_window.isActiveWindow)  # window shortcuts need it active
    return scoring_window


def test_the_events_view_shows_the_breathing_rows_around_the_epoch(window):
    view = window.study_view.events_view
    assert view.isVisible()
    kinds = [r.kind for r in view.rows]
    assert kinds[:4] == ["flow", "thorax", "abdomen", "spo2"]
    hr = view.rows[kinds.index("hr")]
    assert hr.derived and hr.channel == "ECG"  # the study has no heart-rate channel
    ws = window.c.workspace
    ws.set_epoch(20)
    t0, t1 = view.span()
    assert t1 - t0 == 120 and t0 < 20 * 30 < 21 * 30 < t1
    view.toggle_timebase()
    t0, t1 = view.span()
    assert t1 - t0 == 300 and t0 <= 600 < 630 <= t1
    assert view.current.getRegion() == (600.0, 630.0)


def test_drag_and_a_key_mark_an_event_on_disk_and_undo_takes_it_back(qtbot, window):
    import sqlite3

    ws = window.c.workspace
    ws.set_epoch(10)
    view = window.study_view.events_view
    view.set_selection(305.0, 321.5, 0)  # on the flow row
    qtbot.keyClick(window, Qt.Key_O, Qt.ShiftModifier)
    (ev_id, ev), = [(i, e) for i, e in ws.events_list if e.source == EventSource.TECHNICIAN]
    assert ev.type == EventType.OBSTRUCTIVE_APNEA and ev.channels == ("Airflow",)
    assert (ev.onset, ev.duration) == (305.0, 16.5) and ev.scorer == "tech-gui"
    assert len(view.event_items) == 1
    con = sqlite3.connect(f"file:{ws.session.path}?mode=ro", uri=True)
    try:  # committed before the key press returned
        assert con.execute("SELECT COUNT(*) FROM event_log").fetchone()[0] == 1
    finally:
        con.close()
    assert window.study_view.event_list.table.rowCount() >= 1
    assert view.pick(310.0, 0) == ev_id
    qtbot.keyClick(window, Qt.Key_Delete)
    assert ev_id not in ws.scored_events
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert ev_id in ws.scored_events  # one undo history for stages and events
    qtbot.keyClick(window, Qt.Key_H, Qt.ShiftModifier)  # nothing selected: said, not done
    assert "Drag on a row" in window.statusBar().currentMessage()


def test_the_list_filters_searches_jumps_and_reviews_detected_events(qtbot, window):
    ws = window.c.workspace
    det = [Event(EventType.HYPOPNEA, 90.0 * k, 15.0, ("Airflow",), EventSource.DETECTOR,
                 "detector", 0.7) for k in range(2, 8)]
    ws.add_events(det)
    ws.add_event(Event(EventType.AROUSAL, 1000.0, 5.0, (), EventSource.TECHNICIAN, "tech-gui"))
    lst = window.study_view.event_list
    study_own = sum(e.source == EventSource.STUDY for _, e in ws.events_list)
    assert lst.table.rowCount() == 7 + study_own  # the file's own annotations are listed
    lst.kind.setCurrentIndex(lst.kind.findData("detected"))
    assert lst.table.rowCount() == 6 and "6 detected event(s) wait" in lst.summary.text()
    lst.kind.setCurrentIndex(0)
    lst.search.setText("arousal")
    assert lst.table.rowCount() == 1
    lst.search.setText("")
    lst.kind.setCurrentIndex(lst.kind.findData(EventType.HYPOPNEA.value))
    ws.set_epoch(0)
    qtbot.keyClick(window, Qt.Key_BracketRight)  # next hypopnea: 180 s, epoch 6
    assert ws.epoch == 6
    qtbot.keyClick(window, Qt.Key_BracketRight)
    assert ws.epoch == 9
    qtbot.keyClick(window, Qt.Key_BracketLeft)
    assert ws.epoch == 6
    lst.table.selectRow(0)
    assert lst.review(lst.selected_ids(), True) == 1
    accepted = ws.scored_events[lst.shown[0][0]]
    assert accepted.source == EventSource.TECHNICIAN and accepted.scorer == "tech-gui"
    assert lst.review_shown(False, ask=False) == 5
    mine = [e.type for _, e in ws.events_list if e.source != EventSource.STUDY]
    assert mine == [EventType.HYPOPNEA, EventType.AROUSAL]


def test_bulk_review_asks_first(qtbot, window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    ws = window.c.workspace
    ws.add_events([Event(EventType.DESATURATION, 60.0 * k, 20.0, ("SpO2",),
                         EventSource.DETECTOR, "detector", 0.9) for k in range(1, 4)])
    lst = window.study_view.event_list

    def cancel() -> None:
        box = next(b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox)
                   and b.objectName() == "psglens-bulk-events" and b.isVisible())
        assert box.defaultButton().text() == "Cancel" and "3 detected" in box.text()
        box.defaultButton().click()

    QTimer.singleShot(100, cancel)
    assert lst.review_shown(True) == 0
    assert all(e.source == EventSource.DETECTOR for _, e in ws.events_list
               if e.type == EventType.DESATURATION)


def test_detect_events_in_the_worker_proposes_for_review(qtbot, window, tmp_path):
    from conftest import write_edf

    fs, sec = 32.0, 900
    t = np.arange(int(fs * sec)) / fs
    breath = np.sin(2 * np.pi * 0.25 * t)
    flow = np.where((t > 300) & (t < 320), 0.02, 1.0) * breath * 100  # a 20-s apnea
    spo2 = 96 - 5 * np.clip(1 - np.abs(t - 335) / 15, 0, 1)             # nadir 15 s after
    rng = np.random.default_rng(0)
    path = write_edf(tmp_path / "apnea.edf", {
        "EEG C4-M1": (rng.normal(0, 20, int(100 * sec)), 100.0),
        "Airflow": (flow, fs), "Thorax": (breath * 300, fs), "Abdomen": (-breath * 250, fs),
        "SpO2": (spo2, fs)})
    assert window.c.open_study(path)
    ws = window.c.workspace
    said: list[str] = []
    window.c.message.connect(said.append)
    assert window.c.detect_events() is not None
    qtbot.waitUntil(lambda: any("The detectors proposed" in m for m in said), timeout=30000)
    found = [e for _, e in ws.events_list if e.source == EventSource.DETECTOR]
    kinds = {e.type for e in found}
    assert EventType.OBSTRUCTIVE_APNEA in kinds and EventType.DESATURATION in kinds
    apnea = next(e for e in found if e.type == EventType.OBSTRUCTIVE_APNEA)
    assert 295 <= apnea.onset <= 305 and 12 <= apnea.duration <= 26
    assert any("hypopnea" in m.lower() for m in said)  # no nasal pressure: said, skipped
    lst = window.study_view.event_list
    assert "Detector (not reviewed)" in lst.summary.text()
    n = len(found)
    said.clear()
    window.c.detect_events()  # again: replaces the proposals, does not double them
    qtbot.waitUntil(lambda: any("The detectors proposed" in m for m in said), timeout=30000)
    assert sum(e.source == EventSource.DETECTOR for _, e in ws.events_list) == n


def test_the_report_from_the_window_carries_the_events(window, tmp_path):
    ws = window.c.workspace
    ws.add_event(Event(EventType.CENTRAL_APNEA, 400.0, 14.0, ("Airflow",),
                       EventSource.TECHNICIAN, "tech-gui"))
    events = window.c.report_inputs()["events"]
    assert any(e.type == EventType.CENTRAL_APNEA for e in events)
    assert window.c.write_report(tmp_path / "r.pdf")


def test_import_events_from_the_window_never_touches_stages(window, tmp_path):
    from app.core.formats.event_files import write_events
    from app.core.scoring.stages import Stage

    ws = window.c.workspace
    ws.score(Stage.N2, epoch=3, advance=False)
    before = ws.technician.stages.copy()
    path = tmp_path / "lab.csv"
    write_events([Event(EventType.HYPOPNEA, 120.0, 11.0, ("Airflow",)),
                  Event(EventType.OTHER, 150.0, 0.0, text="Bathroom break")], path)
    ids = window.c.import_events(path)
    assert len(ids) == 2 and np.array_equal(ws.technician.stages, before)
    imported = [ws.scored_events[i] for i in ids]
    assert {e.source for e in imported} == {EventSource.IMPORTED}
    assert "Bathroom break" in [e.text for e in imported]
    errors: list[str] = []
    window.c.error.connect(errors.append)
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_sec,duration_sec,type\n10,-5,hypopnea\n")
    assert window.c.import_events(bad) is None and "negative" in errors[0]


def test_notes_and_study_annotations_are_edited_in_the_session_only(window):
    ws = window.c.workspace
    study_file = ws.path.read_bytes()
    lst = window.study_view.event_list
    ws.set_epoch(4)
    note = lst.add_note("Patient asked for water")
    ev = ws.scored_events[note]
    assert ev.type == EventType.OTHER and ev.onset == 120.0 and ev.text.startswith("Patient")
    lst.search.setText("Lights off")  # the synthetic study's own EDF+ annotation
    assert lst.table.rowCount() == 1
    lst.table.selectRow(0)
    assert lst.edit_text("Lights off (late: 23:10)")
    edited = [e for _, e in ws.events_list if e.text.startswith("Lights off (late")]
    assert edited and edited[0].source == EventSource.TECHNICIAN
    assert ws.path.read_bytes() == study_file  # the study file itself never changes
