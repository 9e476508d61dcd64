"""Scored events in the session: an append-only log, one undo history with the stages,
on disk before the call returns, replayed on open, refused when read-only, and format-1
files still open."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.scoring import study_identity
from app.core.scoring.events import Event, EventError, EventSource, EventType
from app.core.scoring.session import ScoringSession
from app.core.scoring.stages import Stage
from app.core.scoring.study_identity import SessionReadOnlyError
from app.errors import SessionError

ROOT = Path(__file__).resolve().parents[2]
N = 20

APNEA = Event(EventType.OBSTRUCTIVE_APNEA, 62.0, 14.0, ("Flow",), scorer="tech-01")
AROUSAL = Event(EventType.AROUSAL, 300.0, 5.0, ("C4-M1",), scorer="tech-01")


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "share").mkdir()
    path = tmp_path / "share" / "night.edf"
    header = (b"0".ljust(8) + b"patient X".ljust(80)).ljust(184) + b"768"
    path.write_bytes(header.ljust(768, b" ") + b"\x01" * 2000)
    return path


def _open(study: Path, who: str = "tech-01") -> ScoringSession:
    return ScoringSession.open(study, n_epochs=N, who=who)


def _schema(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        con.close()


# -- the log ---------------------------------------------------------------------------
def test_add_change_delete_are_logged_rows_and_replayed_on_open(study):
    with _open(study) as s:
        ids = s.add_events([APNEA, AROUSAL], reason="scored by hand")
        assert ids == [1, 2] and s.events() == {1: APNEA, 2: AROUSAL}
        changed = s.change_event(1, duration=18.0, reason="flow recovers later")
        assert changed == APNEA.replace(duration=18.0)
        assert s.delete_events([2], reason="cardiac artefact", who="tech-02") == [2]
        path = s.path
    with _open(study, who="tech-03") as s:  # nothing in memory: the log rebuilds it
        assert s.events() == {1: APNEA.replace(duration=18.0)}
        log = s.event_edits()
    assert [(e.event_id, e.op, e.kind, e.who, e.reason) for e in log] == [
        (1, "add", "edit", "tech-01", "scored by hand"),
        (2, "add", "edit", "tech-01", "scored by hand"),
        (1, "change", "edit", "tech-01", "flow recovers later"),
        (2, "delete", "edit", "tech-02", "cardiac artefact")]
    assert log[0].batch == log[1].batch < log[2].batch < log[3].batch  # one add, one step
    assert (log[2].old, log[2].new) == (APNEA, APNEA.replace(duration=18.0))
    assert (log[3].old, log[3].new) == (AROUSAL, None)
    assert all(e.when.endswith("+00:00") for e in log)
    assert _schema(path) == "2"  # a file with events says so: older versions refuse it


def test_the_event_log_is_append_only(study):
    with _open(study) as s:
        s.add_events([APNEA])
        path = s.path
    db = sqlite3.connect(path)
    try:
        for sql in ("UPDATE event_log SET new = NULL", "DELETE FROM event_log"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
    finally:
        db.close()


def test_each_change_is_on_disk_before_the_call_returns(study):
    with _open(study) as s:
        s.add_events([APNEA])
        s.change_event(1, type=EventType.MIXED_APNEA)
        # a second connection, as a survivor of a crash would read the file
        con = sqlite3.connect(f"file:{s.path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT event, op FROM event_log ORDER BY id").fetchall()
        finally:
            con.close()
        assert rows == [(1, "add"), (1, "change")]
        assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_on_change_reports_each_event_batch(study):
    seen = []
    with _open(study) as s:
        s.on_change.append(lambda kind, p: seen.append((kind, p["ids"], p["kind"])))
        found = [e.replace(source=EventSource.DETECTOR, confidence=0.8) for e in (APNEA, AROUSAL)]
        s.add_events(found, kind="detect")
        s.change_events({1: {"source": "technician", "confidence": None},
                         2: {"source": "technician", "confidence": None}}, kind="accept")
        assert s.change_events({1: {"source": "technician"}}) == []  # no change, no row
        s.undo()
    assert seen == [("events", [1, 2], "detect"), ("events", [1, 2], "accept"),
                    ("events", [2, 1], "undo")]


# -- one undo history ------------------------------------------------------------------
def test_undo_and_redo_walk_stage_and_event_steps_in_the_order_they_were_done(study):
    with _open(study) as s:
        s.set_stage(3, Stage.N2)                      # step 1: a stage
        [i] = s.add_events([APNEA])                   # step 2: an event
        s.change_event(i, onset=64.0)                 # step 3: the event moved
        s.set_stage(3, Stage.N3)                      # step 4: a stage again
        assert s.next_undo() == "stages"
        assert s.undo() == [3] and s.technician_hypnogram().stages[3] == Stage.N2
        assert s.next_undo() == "events"
        assert s.undo() == [] and s.events()[i].onset == 62.0
        assert s.undo() == [] and s.events() == {}    # the add undone: the event is gone
        assert s.undo() == [3] and s.technician_hypnogram().stages[3] == Stage.UNSCORED
        assert s.next_undo() is None and s.undo() == []
        assert s.redo() == [3]
        s.redo()
        assert s.events() == {i: APNEA}               # same id again: ids are stable
        assert s.next_redo() == "events"
        n_rows = len(s.event_edits())
    with _open(study) as s:                           # the stacks survive a reopen
        assert s.next_undo() == "events" and s.next_redo() == "events"
        s.redo()
        assert s.events()[i].onset == 64.0 and s.next_redo() == "stages"
        s.add_events([AROUSAL])                       # a new change: the future is gone
        assert not s.can_redo()
        assert len(s.event_edits()) == n_rows + 2     # undo/redo were rows, never rewrites


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("stage"), st.integers(0, 2), st.sampled_from([0, 2, 4])),
    st.tuples(st.just("add"), st.floats(0, 500)),
    st.tuples(st.just("move"), st.integers(0, 3), st.floats(0, 500)),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("undo")), st.tuples(st.just("redo"))), max_size=14))
def test_mixed_history_matches_a_model_and_survives_reopen(tmp_path_factory, monkeypatch,
                                                           ops):
    folder = tmp_path_factory.mktemp("h")
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(folder / "data"))
    study = folder / "n.edf"
    study.write_bytes(b"0".ljust(256, b" ") + b"\x01" * 100)
    empty = ((-1,) * 3, ())
    history, pos = [empty], 0  # reference: (stages, sorted (id, onset)) states + a cursor

    def state(s):
        return (tuple(s.technician_hypnogram().stages[:3].tolist()),
                tuple((i, e.onset) for i, e in s.events().items()))

    with ScoringSession.open(study, n_epochs=3) as s:
        for op in ops:
            before = state(s)
            if op[0] == "stage":
                s.set_stage(op[1], op[2])
            elif op[0] == "add":
                s.add_events([Event(EventType.HYPOPNEA, op[1], 10.0)])
            elif op[0] in ("move", "delete"):
                ids = list(s.events())
                if not ids:
                    continue
                i = ids[op[1] % len(ids)]
                s.change_event(i, onset=op[2]) if op[0] == "move" else s.delete_events([i])
            elif op[0] == "undo":
                assert s.can_undo() == (pos > 0)
                pos = max(0, pos - 1)
                s.undo()
            else:
                assert s.can_redo() == (pos < len(history) - 1)
                pos = min(len(history) - 1, pos + 1)
                s.redo()
            if op[0] not in ("undo", "redo") and state(s) != before:
                history, pos = history[:pos + 1] + [state(s)], pos + 1
            assert state(s) == history[pos]
    with ScoringSession.open(study, n_epochs=3) as s:
        assert state(s) == history[pos]
        assert s.can_undo() == (pos > 0) and s.can_redo() == (pos < len(history) - 1)


# -- the study's own annotations -------------------------------------------------------
def test_study_annotations_are_a_base_layer_logged_only_when_changed(study):
    note = Event(EventType.OTHER, 0.0, 0.0, source=EventSource.STUDY, text="Lights off")
    arousal = Event(EventType.AROUSAL, 90.0, 6.0, source=EventSource.STUDY)
    with _open(study) as s:
        assert s.set_study_events([note, arousal]) == [-1, -2]
        assert s.events() == {-2: arousal, -1: note} and s.event_edits() == []
        edited = arousal.replace(duration=8.0, source=EventSource.TECHNICIAN, scorer="tech-01")
        s.change_events({-2: {"duration": 8.0, "source": "technician", "scorer": "tech-01"}})
        s.delete_events([-1])
        assert s.events() == {-2: edited}
        assert [(e.event_id, e.op, e.old) for e in s.event_edits()] == [
            (-2, "change", arousal), (-1, "delete", note)]
        s.undo()
        assert s.events() == {-2: edited, -1: note}
    with _open(study) as s:  # the study is read again on open; the log's change wins
        s.set_study_events([note, arousal])
        assert s.events() == {-2: edited, -1: note}
        s.undo()
        assert s.events() == {-2: arousal, -1: note}


# -- bad input -------------------------------------------------------------------------
def test_bad_events_and_ids_are_sentences_and_change_nothing(study):
    with _open(study) as s:
        s.add_events([APNEA])
        cases = [
            (lambda: s.add_events([APNEA, APNEA.replace(duration=-2.0)]), "negative length"),
            (lambda: s.add_events([APNEA.replace(onset=float("nan"))]), "no valid time"),
            (lambda: s.add_events([APNEA.replace(confidence=1.5)]), "must be 0-1"),
            (lambda: s.add_events([("apnea", 10, 5)]), "tuple is not an event"),
            (lambda: s.add_events([APNEA.replace(detail={"x": object()})]),
             "JSON cannot store"),
            (lambda: s.delete_events([1, 7]), "There is no event 7"),
            (lambda: s.change_event(1, length=3.0), "has no field length"),
            (lambda: s.change_event(1, type="snore"), "cannot take these values"),
            (lambda: s.change_event(1, duration=-1.0), "negative length"),
        ]
        for call, words in cases:
            with pytest.raises(EventError, match=words):
                call()
        assert s.events() == {1: APNEA} and len(s.event_edits()) == 1
        with pytest.raises(ValueError, match="kind must be one of"):
            s.add_events([APNEA], kind="guess")


def test_a_damaged_event_row_costs_only_that_event(study):
    with _open(study) as s:
        s.add_events([APNEA, AROUSAL])
        s.set_stage(2, Stage.N2)
        path = s.path
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER event_log_no_update")
    db.execute("UPDATE event_log SET new = '{broken' WHERE event = 2")
    db.commit()
    db.close()
    with _open(study) as s:
        assert s.events() == {1: APNEA}
        assert s.technician_hypnogram().stages[2] == Stage.N2


# -- files of format 1, damage, read-only ----------------------------------------------
def _as_format_1(path: Path) -> None:
    """What PSG Lens wrote before events: no event_log table, schema_version 1."""
    db = sqlite3.connect(path)
    for name in ("event_log_no_update", "event_log_no_delete"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE event_log")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()


def test_a_format_1_session_opens_and_becomes_format_2_with_its_first_event(study):
    with _open(study) as s:
        s.set_stage(1, Stage.W)
        path = s.path
    _as_format_1(path)
    with _open(study) as s:
        assert s.events() == {} and s.technician_hypnogram().stages[1] == Stage.W
        assert _schema(path) == "1"  # opening alone does not lock older versions out
        s.undo()  # the old stage step is still on the one history
        s.add_events([APNEA])
    assert _schema(path) == "2"
    with _open(study) as s:
        assert s.events() == {1: APNEA} and s.next_undo() == "events"


def test_a_format_2_file_that_lost_its_event_table_is_damaged(study):
    with _open(study) as s:
        s.add_events([APNEA])
        path = s.path
    db = sqlite3.connect(path)
    db.execute("DROP TABLE event_log")
    db.commit()
    db.close()
    with pytest.raises(SessionError, match=r"damaged PSG Lens session \(table\(s\) event_log"):
        _open(study)


def test_a_read_only_session_shows_events_and_refuses_changes(study, monkeypatch):
    with _open(study) as s:
        s.add_events([APNEA])
    old = study.with_name("old.edf")  # and a format-1 session, reviewed: no events at all
    old.write_bytes(study.read_bytes()[:-1] + b"\x02")
    with ScoringSession.open(old, n_epochs=N) as s:
        s.set_stage(0, Stage.W)
        old_path = s.path
    _as_format_1(old_path)
    folder = study.parent
    folder.chmod(0o555)
    real = study_identity._folder_writable
    monkeypatch.setattr(study_identity, "_folder_writable",
                        lambda f: False if Path(f) == folder else real(f))
    try:
        with _open(study, who="tech-02") as s:
            assert s.read_only and s.events() == {1: APNEA}
            for change in (lambda: s.add_events([AROUSAL]), lambda: s.delete_events([1]),
                           lambda: s.change_event(1, onset=10.0), s.undo):
                with pytest.raises(SessionReadOnlyError, match="read-only"):
                    change()
            assert s.events() == {1: APNEA}
        with ScoringSession.open(old, n_epochs=N) as s:
            assert s.read_only and s.events() == {} and s.event_edits() == []
    finally:
        folder.chmod(0o755)


# -- a killed writer -------------------------------------------------------------------
WRITER = """
import sys
from app.core.scoring.events import Event, EventType
from app.core.scoring.session import ScoringSession
s = ScoringSession.open(sys.argv[1], n_epochs=20, who="crash-test")
for i in range(200_000):
    if i % 3 == 2:
        s.set_stage(i % 20, (i // 20) % 5)
        print("stage", i % 20, (i // 20) % 5, flush=True)
    else:
        [k] = s.add_events([Event(EventType.AROUSAL, float(i % 500), 3.0)])
        print("event", k, i % 500, flush=True)
"""


def test_a_killed_writer_loses_no_reported_event(study):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(study)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    reported = []
    try:
        while len(reported) < 300:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer ended early: {proc.stderr.read()}")
            reported.append(line.split())
    finally:
        proc.kill()  # SIGKILL: no close(), no flush
        proc.communicate(timeout=20)
    with _open(study) as s:
        assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = s.events()
        stage_edits = []
        for what, a, b in reported:
            if what == "event":
                assert events[int(a)] == Event(EventType.AROUSAL, float(b), 3.0)
            else:
                stage_edits.append((int(a), int(b)))
        # every stage write changes its epoch, so the reported ones open the edit log
        logged = [(e.epoch, int(e.new)) for e in s.edits()]
        assert logged[:len(stage_edits)] == stage_edits and len(stage_edits) > 50
        [k] = s.add_events([APNEA])  # and scoring goes on with fresh ids
        assert k == max(events) + 1
