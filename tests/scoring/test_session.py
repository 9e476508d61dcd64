"""ScoringSession: edits, undo/redo, model runs, channel map, state, where it lives."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app.core.scoring.study_identity as study_identity
from app.core.scoring.hypnogram import Source
from app.core.scoring.session import ScoringSession
from app.core.scoring.stages import Stage
from app.core.scoring.study_identity import identify, session_path_for
from app.errors import SessionError

N = 100


def _make_edf(path: Path, n_signals: int = 2, data: bytes = b"\x01" * 2000) -> Path:
    header_len = 256 * (1 + n_signals)
    fixed = (b"0".ljust(8) + b"patient X".ljust(80)).ljust(184) + str(header_len).encode()
    path.write_bytes(fixed.ljust(header_len, b" ") + data)
    return path


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "study").mkdir()
    return _make_edf(tmp_path / "study" / "night.edf")


@pytest.fixture
def session(study: Path):
    with ScoringSession.open(study, n_epochs=N, who="tech-01") as s:
        yield s


def _stages(s: ScoringSession) -> list[int]:
    return s.technician_hypnogram().stages.tolist()


# -- identity and location ----------------------------------------------------------------
def test_edf_identity_hashes_exactly_the_header(tmp_path: Path) -> None:
    import hashlib

    p = _make_edf(tmp_path / "a.edf", n_signals=3, data=b"\x02" * 100)
    ident = identify(p)
    assert ident.size == 1024 + 100 and ident.path == str(p.resolve())
    assert ident.header_sha256 == hashlib.sha256(p.read_bytes()[:1024]).hexdigest()
    other = tmp_path / "b.txt"
    other.write_bytes(bytes(range(256)) * 300)  # not EDF: first 64 KiB
    assert identify(other).header_sha256 == hashlib.sha256(
        other.read_bytes()[:65536]).hexdigest()


def test_missing_study_is_a_session_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="cannot be read"):
        ScoringSession.open(tmp_path / "nope.edf", n_epochs=3)


def test_session_file_sits_beside_the_study_and_reopens(study: Path) -> None:
    start = dt.datetime(2024, 3, 1, 22, 30)
    with ScoringSession.open(study, n_epochs=N, epoch_sec=30, start_time=start) as s:
        assert s.path == study.with_name("night.edf.psglens")
        assert s.study.size == study.stat().st_size
    with ScoringSession.open(study, n_epochs=N) as s:
        assert (s.n_epochs, s.epoch_sec, s.start_time) == (N, 30.0, start)
        h = s.technician_hypnogram()
        assert h.n_epochs == N and h.start_time == start
        assert (h.stages == Stage.UNSCORED).all() and (h.sources == Source.NONE).all()
    with pytest.raises(SessionError, match="30-s epochs"):
        ScoringSession.open(study, n_epochs=N * 6, epoch_sec=5)


def test_read_only_study_folder_puts_session_in_data_folder(study: Path,
                                                             tmp_path: Path) -> None:
    folder = study.parent
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing")
        with ScoringSession.open(study, n_epochs=N) as s:
            assert s.path.parent == tmp_path / "data" / "sessions"
            s.set_stage(0, Stage.W)
        with ScoringSession.open(study, n_epochs=N) as s:
            assert s.technician_hypnogram().stages[0] == Stage.W
    finally:
        folder.chmod(0o755)


def test_unwritable_folder_fallback_and_lookup(study: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # the same path through the writability probe, for runs as root
    monkeypatch.setattr(study_identity, "_folder_writable", lambda folder: False)
    path = session_path_for(study)
    assert path.parent == tmp_path / "data" / "sessions"
    assert re.fullmatch(r"[0-9a-f]{32}\.psglens", path.name)
    with ScoringSession.open(study, n_epochs=N) as s:
        assert s.path == path
        s.set_state("epoch", 12)
    monkeypatch.setattr(study_identity, "_folder_writable", lambda folder: True)
    with ScoringSession.open(study, n_epochs=N) as s:  # an existing session is found first
        assert s.path == path and s.get_state("epoch") == 12


# -- edits, undo, redo ------------------------------------------------------------------
def test_set_stage_is_logged_and_persists(study: Path) -> None:
    events = []
    with ScoringSession.open(study, n_epochs=N, who="tech-01") as s:
        s.on_change.append(lambda kind, payload: events.append((kind, payload)))
        s.set_stage(7, Stage.N2, reason="spindles")
        s.set_stage(7, Stage.N2)  # same stage: no entry, no event
        s.set_stage(8, 4, who="tech-02")
    assert [e[1]["epoch"] for e in events] == [7, 8]
    assert events[0] == ("stage", {"epoch": 7, "old": Stage.UNSCORED, "new": Stage.N2,
                                   "kind": "edit", "who": "tech-01"})
    with ScoringSession.open(study, n_epochs=N) as s:
        log = s.edits()
        assert [(e.epoch, e.old, e.new, e.who, e.reason, e.kind) for e in log] == [
            (7, Stage.UNSCORED, Stage.N2, "tech-01", "spindles", "edit"),
            (8, Stage.UNSCORED, Stage.REM, "tech-02", "", "edit")]
        when = dt.datetime.fromisoformat(log[0].when)
        assert when.utcoffset() == dt.timedelta(0)
        assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 60
        h = s.technician_hypnogram()
        assert h.stages[7] == Stage.N2 and h.sources[7] == Source.TECHNICIAN
        assert h.sources[0] == Source.NONE and h.scorer == "tech-01, tech-02"
        assert s.edits(since_id=log[0].id) == log[1:]


def test_undo_redo_semantics(session: ScoringSession) -> None:
    s = session
    assert not s.can_undo() and not s.can_redo() and s.undo() == [] and s.redo() == []
    s.set_stage(3, Stage.N2)
    s.set_stage(3, Stage.N3)
    assert s.undo() == [3] and _stages(s)[3] == Stage.N2  # undo restores the old stage
    assert s.can_redo()
    assert s.redo() == [3] and _stages(s)[3] == Stage.N3  # redo re-applies
    s.undo()
    s.undo()
    assert _stages(s)[3] == Stage.UNSCORED and not s.can_undo()
    assert s.technician_hypnogram().sources[3] == Source.NONE
    s.redo()
    assert _stages(s)[3] == Stage.N2 and s.can_redo()
    s.set_stage(4, Stage.W)  # a new edit clears the redo stack
    assert not s.can_redo() and s.redo() == []
    kinds = [e.kind for e in s.edits()]
    assert kinds == ["edit", "edit", "undo", "redo", "undo", "undo", "redo", "edit"]
    undo = s.edits()[2]
    assert (undo.old, undo.new, undo.ref) == (Stage.N3, Stage.N2, s.edits()[1].batch)


def test_undo_stacks_survive_reopen(study: Path) -> None:
    with ScoringSession.open(study, n_epochs=N) as s:
        s.set_stage(1, Stage.N1)
        s.set_stage(2, Stage.N2)
        s.undo()
    with ScoringSession.open(study, n_epochs=N) as s:
        assert s.can_undo() and s.can_redo()
        s.redo()
        assert _stages(s)[1:3] == [Stage.N1, Stage.N2]
        s.undo()
        s.undo()
        assert not s.can_undo()


def test_set_stages_is_one_step(session: ScoringSession) -> None:
    s = session
    s.set_stage(12, Stage.N1)
    changed = s.set_stages(range(10, 20), Stage.N2, reason="accept block", kind="accept")
    assert changed == [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert {e.batch for e in s.edits()[1:]} == {s.edits()[-1].batch}
    s.undo()
    st_ = _stages(s)
    assert st_[12] == Stage.N1 and st_[10] == st_[19] == Stage.UNSCORED
    s.set_stages([0, 1, 2], [Stage.W, Stage.N1, Stage.ARTIFACT], kind="import")
    h = s.technician_hypnogram()
    assert h.stages[:3].tolist() == [0, 1, -2] and (h.sources[:3] == Source.IMPORTED).all()
    s.set_stage(0, Stage.W)  # the technician confirms an imported stage: source changes
    assert s.technician_hypnogram().sources[0] == Source.TECHNICIAN
    s.set_stages([30, 30, 31], [Stage.N1, Stage.N2, Stage.N3])  # an epoch twice: in order
    assert _stages(s)[30:32] == [Stage.N2, Stage.N3]
    s.undo()
    assert _stages(s)[30:32] == [Stage.UNSCORED, Stage.UNSCORED]
    s.redo()
    assert _stages(s)[30:32] == [Stage.N2, Stage.N3]
    with pytest.raises(ValueError):
        s.set_stages([0, 1], [1, 2, 3])
    with pytest.raises(ValueError):
        s.set_stage(0, 7)
    with pytest.raises(IndexError):
        s.set_stage(N, Stage.W)
    with pytest.raises(ValueError):
        s.set_stages([0], [1], kind="undo")


def test_failing_subscriber_does_not_lose_the_edit(session: ScoringSession) -> None:
    seen = []
    session.on_change += [lambda k, p: 1 / 0, lambda k, p: seen.append(p["epoch"])]
    session.set_stage(5, Stage.N3)
    assert seen == [5] and _stages(session)[5] == Stage.N3


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 4), st.sampled_from([-1, 0, 1, 2, 3, 4])),
    st.tuples(st.just("undo")), st.tuples(st.just("redo"))), max_size=15))
def test_undo_redo_match_a_history_model_and_log_only_grows(tmp_path_factory, ops) -> None:
    study = _make_edf(tmp_path_factory.mktemp("h") / "n.edf")
    history, pos = [[-1] * 5], 0  # reference: a list of states and a cursor
    with ScoringSession.open(study, n_epochs=5) as s:
        n_rows = 0
        for op in ops:
            if op[0] == "set":
                state = list(history[pos])
                state[op[1]] = op[2]
                if state != history[pos]:
                    history, pos = history[:pos + 1] + [state], pos + 1
                s.set_stage(op[1], op[2])
            elif op[0] == "undo":
                assert s.can_undo() == (pos > 0)
                pos = max(0, pos - 1)
                s.undo()
            else:
                assert s.can_redo() == (pos < len(history) - 1)
                pos = min(len(history) - 1, pos + 1)
                s.redo()
            assert _stages(s) == history[pos]
            rows = s._db.execute("SELECT COUNT(*) FROM edits").fetchone()[0]
            assert rows >= n_rows
            n_rows = rows
    with ScoringSession.open(study, n_epochs=5) as s:  # the log alone rebuilds it all
        assert _stages(s) == history[pos]
        assert s.can_undo() == (pos > 0) and s.can_redo() == (pos < len(history) - 1)


def test_edit_log_is_append_only(session: ScoringSession) -> None:
    session.set_stage(0, Stage.W)
    db = sqlite3.connect(session.path)
    try:
        for sql in ("UPDATE edits SET new = 3", "DELETE FROM edits"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
    finally:
        db.close()
    root = Path(__file__).resolve().parents[2] / "app" / "core" / "scoring"
    for name in ("session.py", "study_identity.py"):
        code = (root / name).read_text().upper()
        assert not re.search(r"UPDATE\s+EDITS\s+SET|DELETE\s+FROM\s+EDITS|REPLACE\s+INTO\s+"
                             r"EDITS|DROP\s+TABLE", code)


# -- model runs -------------------------------------------------------------------------
def test_model_run_round_trip(session: ScoringSession) -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=N).astype(np.float32)
    r1 = session.add_model_run("bundle-a", '{"version": 1}', p,
                               started_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
                               meta={"smoothing": "hmm"})
    own = np.full(N, Stage.N2, np.int8)
    r2 = session.add_model_run("bundle-b", "{}", p * 0.5, stages=own)
    h = session.model_hypnogram()  # the latest run
    assert h.meta["run_id"] == r2 and h.scorer == "bundle-b" and (h.stages == Stage.N2).all()
    h1 = session.model_hypnogram(r1)
    assert np.array_equal(h1.probabilities, p)  # float32, bit for bit
    assert np.array_equal(h1.stages, p.argmax(axis=1)) and (h1.sources == Source.MODEL).all()
    runs = session.model_runs()
    assert [(r.run_id, r.bundle_id, r.n_done) for r in runs] == [(r1, "bundle-a", N),
                                                                   (r2, "bundle-b", N)]
    assert runs[0].meta == {"smoothing": "hmm"} and runs[0].started_at.startswith("2024-01-01")
    assert runs[0].render_spec_json == '{"version": 1}'
    with pytest.raises(SessionError, match="no model run 99"):
        session.model_hypnogram(99)
    with pytest.raises(ValueError):
        session.add_model_run("x", "{}", np.zeros((3, 4)))


def test_no_model_run_yet(session: ScoringSession) -> None:
    with pytest.raises(SessionError, match="no model run yet"):
        session.model_hypnogram()


def test_streaming_a_night_in_batches_is_fast(study: Path) -> None:
    n = 1000
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=n).astype(np.float32)
    with ScoringSession.open(study, n_epochs=n) as s:
        events = []
        s.on_change.append(lambda k, d: events.append((k, d["start"], d["stop"])))
        run = s.add_model_run("bundle", "{}", np.zeros((0, 5), np.float32))
        t0 = time.perf_counter()
        for a in range(0, n, 32):
            s.update_model_run(run, a, p[a:a + 32])
            if a == 480:  # a partial run reads back: the rest Unscored, uniform
                h = s.model_hypnogram(run)
                assert (h.stages[512:] == Stage.UNSCORED).all()
                assert np.allclose(h.probabilities[512:], 0.2)
                assert s.model_runs()[0].n_done == 512
        elapsed = time.perf_counter() - t0
        assert elapsed < 5.0, f"32 committed batches took {elapsed:.2f} s"
        assert events[0] == ("model_run", 0, 32) and len(events) == 32
        with pytest.raises(IndexError):
            s.update_model_run(run, n - 10, p[:32])
        with pytest.raises(SessionError):
            s.update_model_run(run + 1, 0, p[:32])
    with ScoringSession.open(study, n_epochs=n) as s:
        assert np.array_equal(s.model_hypnogram().probabilities, p)
        s.update_model_run(run, 0, np.tile(np.eye(5, dtype=np.float32)[4], (2, 1)))
        assert s.model_hypnogram().stages[:3].tolist() == [4, 4, int(p[2].argmax())]


# -- channel map and state ---------------------------------------------------------------
def test_channel_map_and_state_persist(study: Path) -> None:
    cmap = {"EEG": ["C4-M1", "F4-M1"], "EOG": {"LOC": "E1"}, "gain": 1.5}
    with ScoringSession.open(study, n_epochs=N) as s:
        assert s.channel_map is None and s.get_state("epoch", 0) == 0
        s.set_channel_map(cmap)
        s.set_state("epoch", 41)
        s.set_state("view", {"zoom": 2, "channels": ["C4"]})
        with pytest.raises(TypeError):
            s.set_channel_map({"bad": object()})
    with ScoringSession.open(study, n_epochs=N) as s:
        assert s.channel_map == cmap
        assert s.get_state("epoch") == 41 and s.get_state("view")["zoom"] == 2
        s.set_channel_map(None)
        assert s.channel_map is None


def test_closed_session_refuses_work(study: Path) -> None:
    s = ScoringSession.open(study, n_epochs=N)
    s.close()
    s.close()  # idempotent
    assert s.closed
    with pytest.raises(SessionError, match="closed"):
        s.set_stage(0, Stage.W)
    with pytest.raises(SessionError, match="closed"):
        s.get_state("epoch")
