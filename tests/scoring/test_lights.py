"""Lights off and on: read from the study's EDF+ annotations by default, set by the
technician as logged, undoable marks on disk before the call returns, used by the
statistics and the report, and bad input as one sentence that changes nothing."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from app.core.scoring.events import Event, EventError, EventSource, EventType
from app.core.scoring.lights import Lights, lights_from_events, lights_kind
from app.core.scoring.stages import Stage
from app.core.scoring.stats import sleep_statistics
from app.core.workspace import Workspace

EPOCHS = 20
START = dt.datetime(2024, 3, 1, 22, 30)


def _study(path: Path, annotations: list[tuple[float, str]]) -> Path:
    """An EDF+ night of 20 epochs with these zero-length annotations (as the synthetic
    studies write "Lights off" at 0 s and "Lights on" at the end)."""
    import edfio

    rng = np.random.default_rng(5)
    sigs = [edfio.EdfSignal(rng.normal(0, 20, EPOCHS * 30 * 100), 100.0, label=name,
                            physical_dimension="uV", physical_range=(-200, 200))
            for name in ("C4-M1", "E1-M2", "Chin1-Chin2")]
    anns = [edfio.EdfAnnotation(onset, None, text) for onset, text in annotations]
    edf = edfio.Edf(sigs, annotations=anns, data_record_duration=1.0)
    edf.startdate, edf.starttime = START.date(), START.time()
    edf.write(path)
    return path


@pytest.fixture
def ws(tmp_path):
    w = Workspace.open(_study(tmp_path / "night.edf", [(60.0, "Lights off"),
                                                        (510.0, "Lights on")]), who="tech-01")
    yield w
    if not w.session.closed:
        w.close()


def one_sentence(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("."), msg
    assert not re.search(r"[.;]\s+[A-Z][a-z]+ [a-z]", msg), msg
    return msg


def _log_rows(session_path: Path) -> list[tuple]:
    """The event log as another program reads it from the file (no shared connection)."""
    with sqlite3.connect(session_path) as db:
        return db.execute("SELECT who, event, op, new FROM event_log ORDER BY id").fetchall()


def test_the_studys_lights_annotations_are_the_default(ws):
    lights = ws.lights
    # lights on inside epoch 17 (510 s): the period ends after that epoch
    assert (lights.off_epoch, lights.on_epoch, lights.note) == (2, 17, "")
    assert lights.off_id < 0 and lights.on_id < 0  # the study's own marks
    stats = ws.statistics()
    assert (stats.lights_off_epoch, stats.lights_on_epoch, stats.trt_min) == (2, 17, 7.5)
    assert stats.lights_off_time == START + dt.timedelta(minutes=1)


def test_setting_the_lights_is_logged_on_disk_and_one_undo_step(ws):
    ws.score(Stage.N2, 5)
    stages = ws.technician.stages.copy()
    seen = []
    ws.events.lights.connect(lambda ev: seen.append((ev.lights.off_epoch, ev.lights.on_epoch)))
    lights = ws.set_lights(off_epoch=4, on_epoch=15, reason="as the tech sheet says")
    assert (lights.off_epoch, lights.on_epoch) == (4, 15) and seen == [(4, 15)]
    rows = _log_rows(ws.session.path)  # on disk before set_lights returned
    assert [(who, ev, op) for who, ev, op, _ in rows] == [("tech-01", -1, "change"),
                                                          ("tech-01", -2, "change")]
    edits = ws.session.event_edits()
    assert {e.batch for e in edits} == {edits[0].batch}  # one step
    assert edits[0].reason == "as the tech sheet says"
    assert edits[0].new.source is EventSource.TECHNICIAN and edits[0].new.scorer == "tech-01"
    assert ws.statistics().trt_min == 5.5
    assert ws.session.next_undo() == "events"
    ws.undo()
    assert (ws.lights.off_epoch, ws.lights.on_epoch) == (2, 17) and seen[-1] == (2, 17)
    ws.redo()
    assert (ws.lights.off_epoch, ws.lights.on_epoch) == (4, 15)
    assert (ws.technician.stages == stages).all()  # never a stage
    ws.undo()
    assert ws.technician.stages[5] == Stage.N2  # the stage edit is the step before


def test_one_mark_moved_and_one_added_are_still_one_step(tmp_path):
    w = Workspace.open(_study(tmp_path / "n.edf", [(0.0, "Lights off")]), who="tech-02")
    try:
        assert (w.lights.off_epoch, w.lights.on_epoch) == (0, None)
        w.set_lights(off_epoch=1, on_epoch=19)
        assert (w.lights.off_epoch, w.lights.on_epoch) == (1, 19) and w.lights.on_id > 0
        w.undo()
        assert (w.lights.off_epoch, w.lights.on_epoch) == (0, None)
        assert not w.session.can_undo()
        w.set_lights(on_epoch=18)  # lights off kept
        assert (w.lights.off_epoch, w.lights.on_epoch) == (0, 18)
        w.set_lights(off_epoch=None)  # removed: the recording's start counts again
        assert (w.lights.off_epoch, w.lights.on_epoch) == (None, 18)
        assert w.statistics().trt_min == 9.0
    finally:
        w.close()


def test_the_lights_survive_reopening(ws):
    ws.set_lights(off_epoch=3)
    path = ws.path
    ws.close()
    again = Workspace.open(path)
    try:
        assert (again.lights.off_epoch, again.lights.on_epoch) == (3, 17)
    finally:
        again.close()


@pytest.mark.parametrize("kwargs, words", [
    (dict(off_epoch=10, on_epoch=5), "Lights on (22:32:30, start of epoch 6) must come after "
                                     "lights off (22:35:00, start of epoch 11)"),
    (dict(on_epoch=2), "Lights on (22:31:00, start of epoch 3) must come after lights off "
                       "(22:31:00, start of epoch 3)"),
    (dict(off_epoch=20), "Lights off at epoch 21 lies outside the recording, which has "
                         "epochs 1-20"),
    (dict(off_epoch=-1), "Lights off at epoch 0 lies outside the recording"),
    (dict(on_epoch=0), "Lights on after epoch 0 lies outside the recording"),
    (dict(on_epoch=21), "Lights on after epoch 21 lies outside the recording"),
    (dict(off_epoch=2.5), "Lights off must be an epoch number, not 2.5"),
    (dict(off_epoch=True), "Lights off must be an epoch number, not True"),
    (dict(on_epoch="end"), "Lights on must be an epoch number, not 'end'"),
])
def test_bad_lights_are_one_sentence_and_change_nothing(ws, kwargs, words):
    ws.score(Stage.W, 0)
    before = (ws.lights, ws.scored_events, ws.technician.stages.copy(),
              len(_log_rows(ws.session.path)))
    with pytest.raises(EventError) as err:
        ws.set_lights(**kwargs)
    assert words in one_sentence(err)
    after = (ws.lights, ws.scored_events, ws.technician.stages, len(_log_rows(ws.session.path)))
    assert before[0] == after[0] and before[1] == after[1] and before[3] == after[3]
    assert (before[2] == after[2]).all()


def test_lights_at_the_end_of_the_night_are_accepted(ws):
    assert ws.set_lights(off_epoch=0, on_epoch=EPOCHS).period(EPOCHS) == (0, EPOCHS)


def test_study_marks_that_make_no_period_are_ignored_and_said(tmp_path):
    w = Workspace.open(_study(tmp_path / "n.edf", [(400.0, "LIGHTS OUT"),
                                                   (100.0, "lights_on")]))
    try:
        assert (w.lights.off_epoch, w.lights.on_epoch) == (None, None)
        assert "lights on comes before lights off" in w.lights.note
        assert w.statistics().trt_min == EPOCHS / 2
        with pytest.raises(EventError) as err:  # the study's lights on still contradicts
            w.set_lights(off_epoch=15)
        assert "must come after lights off" in one_sentence(err)
        w.set_lights(off_epoch=15, on_epoch=18)
        assert (w.lights.off_epoch, w.lights.on_epoch, w.lights.note) == (15, 18, "")
    finally:
        w.close()


def test_which_marks_count():
    other, study = EventType.OTHER, EventSource.STUDY
    marks = {-1: Event(other, 30.0, 0, source=study, text="Lights off"),
             -2: Event(other, 90.0, 0, source=study, text="Lights off"),
             -3: Event(other, 400.0, 0, source=study, text="Lights on"),
             -4: Event(other, 500.0, 0, source=study, text="Lights on"),
             7: Event(other, 150.0, 0, source=EventSource.IMPORTED, text="Lights Off"),
             8: Event(other, 10.0, 0, source=EventSource.DETECTOR, text="Lights off"),
             9: Event(EventType.AROUSAL, 0.0, 3.0, text="Lights off")}
    got = lights_from_events(marks, epoch_sec=30.0, n_epochs=20)
    # imported over the study's; the study's last lights on; detectors never count
    assert got == Lights(5, 17, 7, -4)
    assert lights_kind(marks[8]) is None and lights_kind(marks[9]) is None
    assert lights_from_events({}, epoch_sec=30.0, n_epochs=20) == Lights()


def test_statistics_and_the_report_take_the_lights(ws):
    ws.set_lights(off_epoch=4, on_epoch=12)
    for e in range(EPOCHS):
        ws.score(Stage.N2 if 6 <= e < 14 else Stage.W, e, advance=False)
    expected = sleep_statistics(ws.technician, lights_off_epoch=4, lights_on_epoch=12)
    assert ws.statistics() == expected and expected.tst_min == 3.0
    model = ws.technician.copy()
    assert ws.statistics(model).lights_on_epoch == 12
    pytest.importorskip("PySide6")
    from app.config import Settings
    from app.gui.controller import Controller

    fake = SimpleNamespace(workspace=ws, settings=Settings())
    inputs = Controller.report_inputs(fake)
    assert (inputs["lights_off_epoch"], inputs["lights_on_epoch"]) == (4, 12)
    from app.core.report import write_report

    pdf = write_report(ws.path.with_suffix(".pdf"), ws.technician, **inputs)
    assert pdf.stat().st_size > 1000
