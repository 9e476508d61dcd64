"""ScoringSession under hard conditions: a killed writer, a second process, a changed
study, a file from a newer version."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.scoring.session import ScoringSession, SessionLockedError, StudyChangedError
from app.core.scoring.stages import Stage
from app.errors import SessionError

ROOT = Path(__file__).resolve().parents[2]
N_EPOCHS = 300

# Every edit changes its epoch (pass k over the night writes stage k % 5), so edit i is
# log row i. The line is printed only after set_stage has returned.
WRITER = """
import sys
from app.core.scoring.session import ScoringSession
s = ScoringSession.open(sys.argv[1], n_epochs=int(sys.argv[2]), who="crash-test")
n = int(sys.argv[2])
for i in range(200_000):
    epoch, stage = i % n, (i // n) % 5
    s.set_stage(epoch, stage, reason="crash test")
    print(i, epoch, stage, flush=True)
"""

HOLDER = """
import sys, time
from app.core.scoring.session import ScoringSession
s = ScoringSession.open(sys.argv[1], n_epochs=int(sys.argv[2]), who="holder")
s.set_stage(0, 2)
print("ready", flush=True)
time.sleep(60)
"""


def _make_edf(path: Path, n_signals: int = 2, data: bytes = b"\x00" * 4000) -> Path:
    header_len = 256 * (1 + n_signals)
    fixed = b"0".ljust(8) + b"patient X".ljust(80) + b"recording".ljust(80)
    fixed = fixed.ljust(184) + str(header_len).encode().ljust(8)
    path.write_bytes(fixed.ljust(header_len, b" ") + data)
    return path


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    return _make_edf(tmp_path / "night.edf")


def _spawn(code: str, study: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.Popen([sys.executable, "-c", code, str(study), str(N_EPOCHS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL on Unix: no atexit, no close(), no flush of anything
    proc.communicate(timeout=20)


def test_killed_writer_loses_no_reported_edit(study: Path) -> None:
    proc = _spawn(WRITER, study)
    reported = []
    try:
        while len(reported) < 400:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer ended early: {proc.stderr.read()}")
            reported.append(tuple(int(x) for x in line.split()))
    finally:
        _kill(proc)
    with ScoringSession.open(study, n_epochs=N_EPOCHS) as s:
        assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        log = s.edits()
        assert len(log) >= len(reported)
        for i, epoch, stage in reported:
            assert (log[i].epoch, int(log[i].new), log[i].kind) == (epoch, stage, "edit")
            assert log[i].who == "crash-test" and log[i].reason == "crash test"
        # the hypnogram is the log replayed, including any edits made after the last line
        expected = [int(Stage.UNSCORED)] * N_EPOCHS
        for e in log:
            expected[e.epoch] = int(e.new)
        assert s.technician_hypnogram().stages.tolist() == expected
        s.set_stage(5, Stage.REM)  # and scoring goes on
        assert s.edits()[-1].id == log[-1].id + 1


def test_second_process_is_locked_out_until_holder_dies(study: Path) -> None:
    proc = _spawn(HOLDER, study)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        with pytest.raises(SessionLockedError) as info:
            ScoringSession.open(study, n_epochs=N_EPOCHS)
        msg = str(info.value)
        assert f"(pid {proc.pid})" in msg and "Close it there first." in msg
        assert msg.startswith("This session is already open by ")
    finally:
        _kill(proc)
    # the OS dropped the dead holder's lock: no stale lock, nothing lost
    with ScoringSession.open(study, n_epochs=N_EPOCHS) as s:
        assert s.technician_hypnogram().stages[0] == Stage.N2


def test_same_process_second_open_is_locked(study: Path) -> None:
    with ScoringSession.open(study, n_epochs=N_EPOCHS):
        with pytest.raises(SessionLockedError, match=rf"\(pid {os.getpid()}\)"):
            ScoringSession.open(study, n_epochs=N_EPOCHS)
    ScoringSession.open(study, n_epochs=N_EPOCHS).close()  # released on close


def test_changed_header_is_detected(study: Path) -> None:
    with ScoringSession.open(study, n_epochs=N_EPOCHS) as s:
        s.set_stage(1, Stage.N1)
    raw = bytearray(study.read_bytes())
    raw[8:17] = b"patient Y"  # same size, different header
    study.write_bytes(bytes(raw))
    with pytest.raises(StudyChangedError, match="changed since this session was saved"):
        ScoringSession.open(study, n_epochs=N_EPOCHS)
    with ScoringSession.open(study, n_epochs=N_EPOCHS, accept_changed=True) as s:
        assert s.technician_hypnogram().stages[1] == Stage.N1
    ScoringSession.open(study, n_epochs=N_EPOCHS).close()  # the new identity is stored


def test_changed_size_is_detected_but_data_edits_are_not_hashed(study: Path) -> None:
    ScoringSession.open(study, n_epochs=N_EPOCHS).close()
    raw = bytearray(study.read_bytes())
    raw[-1] = 7  # a data byte: only the header is hashed, same size -> same study
    study.write_bytes(bytes(raw))
    ScoringSession.open(study, n_epochs=N_EPOCHS).close()
    study.write_bytes(bytes(raw) + b"\x00" * 10)
    size = len(raw)
    with pytest.raises(StudyChangedError) as info:
        ScoringSession.open(study, n_epochs=N_EPOCHS)
    assert f"(size {size} -> {size + 10} bytes)" in str(info.value)
    assert str(info.value).endswith("Open it as a new session, or restore the original file.")


def test_newer_schema_version_is_refused(study: Path) -> None:
    with ScoringSession.open(study, n_epochs=N_EPOCHS) as s:
        path = s.path
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(SessionError, match="newer PSG Lens"):
        ScoringSession.open(study, n_epochs=N_EPOCHS)


def test_a_file_that_is_not_a_session_is_refused(study: Path) -> None:
    bad = Path(str(study) + ".psglens")
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SessionError, match="not a PSG Lens session file"):
        ScoringSession.open(study, n_epochs=N_EPOCHS)
    bad.unlink()  # the failed open released its lock
    ScoringSession.open(study, n_epochs=N_EPOCHS).close()
