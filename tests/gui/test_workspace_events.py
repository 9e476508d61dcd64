"""Workspace (Qt-free) scored events: marking, changing and deleting them against the
recording, accepting and rejecting a detector's, the study's own annotations shown and
kept, one undo history with the stages, and imports that never touch the stages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from app.core.formats.event_files import read_events
from app.core.scoring.events import Event, EventError, EventSource, EventType
from app.core.scoring.stages import Stage
from app.core.workspace import Events, Workspace
from app.errors import FormatError, SessionError

T, S = EventType, EventSource
SECONDS = 240  # 8 epochs


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    """An EDF+ night with the annotations a clinical export holds: stages, events, notes,
    and one annotation that lies past the end of the recording."""
    import edfio

    rng = np.random.default_rng(4)
    sigs = [edfio.EdfSignal(rng.normal(0, 20, SECONDS * 100), 100.0, label=name,
                            physical_dimension="uV", physical_range=(-200, 200))
            for name in ("C4-M1", "E1-M2", "Chin1-Chin2")]
    sigs.append(edfio.EdfSignal(rng.normal(0, 1, SECONDS * 10), 10.0, label="Flow",
                                physical_range=(-10, 10)))
    sigs.append(edfio.EdfSignal(np.full(SECONDS, 96.0), 1.0, label="SpO2",
                                physical_dimension="%", physical_range=(0, 100)))
    anns = [edfio.EdfAnnotation(0.0, None, "Lights off"),
            edfio.EdfAnnotation(0.0, 120.0, "Sleep stage W"),
            edfio.EdfAnnotation(120.0, 120.0, "Sleep stage N2"),
            edfio.EdfAnnotation(130.0, 12.0, "Obstructive Apnea"),
            edfio.EdfAnnotation(150.0, 4.0, "Arousal"),
            edfio.EdfAnnotation(500.0, 10.0, "Hypopnea")]  # past the end: refused, noted
    edf = edfio.Edf(sigs, annotations=anns, data_record_duration=1.0)
    edf.startdate, edf.starttime = dt.date(2024, 3, 1), dt.time(22, 30)
    path = tmp_path_factory.mktemp("evws") / "night.edf"
    edf.write(path)
    return path


@pytest.fixture
def study(study_master, tmp_path) -> Path:
    dst = tmp_path / "night.edf"
    dst.write_bytes(study_master.read_bytes())
    return dst


@pytest.fixture
def ws(study):
    w = Workspace.open(study, who="tech-01")
    yield w
    w.close()


def _listen(ws) -> list:
    seen = []
    ws.events.scored_events.connect(lambda ev: seen.append((ev.ids, ev.kind)))
    return seen


def test_the_signal_is_added_without_renaming_the_others():
    assert Events.NAMES[:13] == ("epoch", "stages", "model", "answers", "runs", "imported",
                                 "view", "channel_map", "explanation", "message", "saved",
                                 "scorer", "closed")
    assert "scored_events" in Events.NAMES


def test_the_studys_annotations_are_shown_as_read_only_study_events(ws, study):
    assert [(i, e.type, e.onset, e.source, e.text) for i, e in ws.events_list] == [
        (-1, T.OTHER, 0.0, S.STUDY, "Lights off"),
        (-2, T.OBSTRUCTIVE_APNEA, 130.0, S.STUDY, ""),
        (-3, T.AROUSAL, 150.0, S.STUDY, "")]  # no stages among them
    assert ws.study_events == tuple(e for _, e in ws.events_list)
    assert any("annotation 6" in n and "outside the recording" in n for n in ws.notes)
    assert ws.session.event_edits() == []  # shown, not copied into the session
    assert ws.events_in(140.0, 152.0) == [(-2, ws.event(-2)), (-3, ws.event(-3))]
    assert ws.events_in(0.0, 1.0) == [(-1, ws.event(-1))]  # a marker at the window's start
    shown = ws.events_list
    ws.close()
    again = Workspace.open(study)
    try:  # the ids are the same on every open: the file and its order are
        assert again.events_list == shown
    finally:
        again.close()


def test_a_changed_study_annotation_becomes_the_technicians_and_can_be_undone(study):
    ws = Workspace.open(study, who="tech-01")
    try:
        seen = _listen(ws)
        ev = ws.change_event(-3, duration=6.0, reason="arousal lasts longer")
        assert (ev.source, ev.scorer, ev.duration, ev.type) == (S.TECHNICIAN, "tech-01", 6.0,
                                                                T.AROUSAL)
        ws.delete_event(-1, reason="lights were off earlier")
        assert [i for i, _ in ws.events_list] == [-2, -3] and seen[-1] == ([-1], "edit")
        assert [(e.event_id, e.op) for e in ws.session.event_edits()] == [
            (-3, "change"), (-1, "delete")]
        ws.undo()
        assert ws.event(-1).text == "Lights off" and ws.epoch == 0
    finally:
        ws.close()
    ws = Workspace.open(study)
    try:  # the study is read again; the technician's change wins, the deletion undone
        assert ws.event(-3).source is S.TECHNICIAN and ws.event(-1).source is S.STUDY
        assert ws.study_events[2].duration == 4.0  # the file itself is never changed
    finally:
        ws.close()


def test_added_events_are_checked_against_the_recording(ws):
    with pytest.raises(EventError, match=r"lies outside the recording, which lasts 0:04:00"):
        ws.add_event(Event(T.HYPOPNEA, 235.0, 12.0, ("Flow",)))
    with pytest.raises(EventError, match=r"is marked on Thor, which this study does not have"):
        ws.add_event(Event(T.CENTRAL_APNEA, 10.0, 12.0, ("Thor",)))
    with pytest.raises(EventError, match=r"negative length"):
        ws.add_events([Event(T.AROUSAL, 10.0, 3.0), Event(T.AROUSAL, 20.0, -3.0)])
    assert ws.session.event_edits() == []  # one bad event and none is added
    i = ws.add_event(Event(T.HYPOPNEA, 200.0, 12.0, ("Flow",)), reason="flow -40%")
    assert ws.event(i).scorer == "tech-01" and ws.session.event_edits()[-1].reason == \
        "flow -40%"
    moved = ws.change_event(i, onset=205.0, channels=["Flow", "SpO2"])
    assert moved.channels == ("Flow", "SpO2") and moved.source is S.TECHNICIAN
    with pytest.raises(EventError, match="lies outside the recording"):
        ws.change_event(i, duration=60.0)
    with pytest.raises(EventError, match="There is no event 99"):
        ws.delete_event(99)


def test_accepted_detector_events_become_the_technicians_rejected_ones_go(ws):
    seen = _listen(ws)
    found = [Event(T.AROUSAL, 30.0 * k + 5, 4.0, ("C4-M1",), S.DETECTOR, "arousal-det/0.1",
                   0.6 + 0.1 * k) for k in range(3)]
    ids = ws.add_events(found)
    assert seen[-1] == (ids, "detect")
    ws.set_scorer("tech-02")
    assert ws.accept_detected(ids[:2]) == ids[:2]
    accepted = ws.event(ids[0])
    assert (accepted.source, accepted.scorer, accepted.confidence) == \
        (S.TECHNICIAN, "tech-02", None)
    assert accepted.detail["detector"] == "arousal-det/0.1"
    assert accepted.detail["detector_confidence"] == pytest.approx(0.6)
    assert ws.reject_detected([ids[2]]) == [ids[2]]
    assert ids[2] not in ws.scored_events
    log = ws.session.event_edits()
    assert [(e.kind, e.who) for e in log[-3:]] == [("accept", "tech-02"),
                                                    ("accept", "tech-02"),
                                                    ("reject", "tech-02")]
    with pytest.raises(EventError, match=r"is a technician event, not a detector's proposal"):
        ws.reject_detected([ids[0]])
    ws.undo()
    ws.undo()  # the accept and the reject undone: the proposals are back, unreviewed
    assert [ws.event(i).source for i in ids] == [S.DETECTOR] * 3


def test_one_undo_history_for_stages_and_events(ws):
    seen = _listen(ws)
    ws.score(Stage.N2, epoch=1, advance=False)
    i = ws.add_event(Event(T.OBSTRUCTIVE_APNEA, 185.0, 14.0, ("Flow",)))
    ws.score(Stage.N3, epoch=2, advance=False)
    ws.set_epoch(0)
    assert ws.undo() == [2] and ws.technician.stages[2] == Stage.UNSCORED
    assert ws.undo() == [] and i not in ws.scored_events
    assert ws.epoch == 6 and seen[-1] == ([i], "undo")  # taken to where the event was
    assert ws.undo() == [1] and ws.technician.stages[1] == Stage.UNSCORED
    messages = []
    ws.events.message.connect(lambda ev: messages.append(ev.text))
    assert ws.undo() == [] and messages == ["Nothing to undo."]
    ws.redo()
    ws.redo()
    assert ws.event(i).onset == 185.0 and ws.technician.stages[1] == Stage.N2


def test_imports_add_events_and_never_touch_the_stages(ws, tmp_path):
    ws.score(Stage.W, epoch=0, advance=False)
    stages, edits = ws.technician.stages.copy(), ws.session.edits()
    path = tmp_path / "other-nsrr.xml"
    path.write_text(
        "<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>"
        "<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2"
        "</EventConcept><Start>0</Start><Duration>240</Duration></ScoredEvent>"
        "<ScoredEvent><EventType>Respiratory|Respiratory</EventType><EventConcept>"
        "Hypopnea|Hypopnea</EventConcept><Start>60</Start><Duration>15</Duration>"
        "<SignalLocation>Flow</SignalLocation></ScoredEvent>"
        "<ScoredEvent><EventType>Arousals|Arousals</EventType><EventConcept>"
        "Arousal|Arousal ()</EventConcept><Start>80</Start><Duration>5</Duration>"
        "</ScoredEvent></ScoredEvents></PSGAnnotation>")
    ids = ws.import_events(path)
    assert [(ws.event(i).type, ws.event(i).source) for i in ids] == [
        (T.HYPOPNEA, S.IMPORTED), (T.AROUSAL, S.IMPORTED)]
    assert np.array_equal(ws.technician.stages, stages) and ws.session.edits() == edits
    assert {e.kind for e in ws.session.event_edits()} == {"import"}
    ws.undo()  # one step removes the whole import, and only that
    assert not set(ids) & set(ws.scored_events)
    assert ws.technician.stages[0] == Stage.W
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_sec,duration_sec,type,channels\n10,5,hypopnea,Nasal Pressure\n")
    with pytest.raises(FormatError, match=r"bad\.csv, line 2: .*Nasal Pressure, which this "
                                          "study does not have"):
        ws.import_events(bad)
    empty = tmp_path / "stages-only.csv"
    empty.write_text("onset_sec,duration_sec,type\n")
    assert ws.import_events(empty) == []


def test_export_writes_what_the_list_shows(ws, tmp_path):
    ws.add_event(Event(T.RERA, 100.0, 11.0, ("Flow",)))
    out = tmp_path / "night_events.tsv"
    assert ws.export_events(out) == 4
    assert [(e.type, e.onset) for e in read_events(out)] == [
        (e.type, e.onset) for _, e in ws.events_list]
    assert ws.export_events(tmp_path / "mine.csv", sources=[S.TECHNICIAN]) == 1


def test_a_read_only_review_shows_events_and_refuses_changes(study, monkeypatch):
    from app.core.scoring import study_identity
    from app.core.scoring.study_identity import SessionReadOnlyError

    ws = Workspace.open(study, who="tech-01")
    i = ws.add_event(Event(T.HYPOPNEA, 60.0, 12.0, ("Flow",)))
    ws.close()
    folder = study.parent
    real = study_identity._folder_writable
    monkeypatch.setattr(study_identity, "_folder_writable",
                        lambda f: False if Path(f) == folder else real(f))
    folder.chmod(0o555)
    try:
        ws = Workspace.open(study, who="tech-02")
        try:
            assert ws.read_only and [k for k, _ in ws.events_list] == [-1, i, -2, -3]
            for change in (lambda: ws.add_event(Event(T.AROUSAL, 10.0, 3.0)),
                           lambda: ws.change_event(-2, duration=3.0),
                           lambda: ws.delete_event(i), ws.undo):
                with pytest.raises(SessionReadOnlyError, match="read-only"):
                    change()
            assert isinstance(SessionReadOnlyError("x"), SessionError)
        finally:
            ws.close()
    finally:
        folder.chmod(0o755)
