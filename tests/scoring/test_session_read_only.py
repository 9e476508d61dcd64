"""A study on a read-only share that already has a session opens for review: the
scoring is shown, nothing is written (not even a lock or a WAL index), and every change
is refused with a sentence."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from app.core.scoring import study_identity
from app.core.scoring.session import ScoringSession
from app.core.scoring.stages import Stage
from app.core.scoring.study_identity import SessionError, SessionReadOnlyError

N = 12


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "share"
    folder.mkdir()
    path = folder / "night.edf"
    header = (b"0".ljust(8) + b"patient X".ljust(80)).ljust(184) + b"768"
    path.write_bytes(header.ljust(768, b" ") + b"\x01" * 2000)
    return path


def make_share_read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The share refuses writes. Root ignores chmod, so the probe is told as well."""
    folder.chmod(0o555)
    real = study_identity._folder_writable
    monkeypatch.setattr(study_identity, "_folder_writable",
                        lambda f: False if Path(f) == folder else real(f))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scored_session_on_a_read_only_share_opens_for_review(study, monkeypatch):
    with ScoringSession.open(study, n_epochs=N, who="tech-01") as s:
        s.set_stage(0, Stage.W)
        s.set_stage(1, Stage.N2)
        s.set_state("view", {"epoch": 1})
    session = study.with_name(study.name + ".psglens")
    before = sorted(p.name for p in study.parent.iterdir())
    sha = digest(session)
    make_share_read_only(monkeypatch, study.parent)
    try:
        with ScoringSession.open(study, n_epochs=N, who="tech-02") as s:
            assert s.read_only and str(study.parent) in s.read_only
            assert s.path == session  # the colleague's session, not a new empty one
            assert s.technician_hypnogram().labels()[:2] == ["W", "N2"]
            assert s.get_state("view") == {"epoch": 1}
            for change in (lambda: s.set_stage(2, Stage.N3), s.undo,
                           lambda: s.set_state("view", {"epoch": 5})):
                with pytest.raises(SessionReadOnlyError, match="read-only .*Copy the study"):
                    change()
            assert s.technician_hypnogram().labels()[2] == "Unscored"
    finally:
        study.parent.chmod(0o755)
    assert digest(session) == sha
    assert sorted(p.name for p in study.parent.iterdir()) == before  # no lock, no -shm


def test_review_reads_commits_still_in_the_wal(study, monkeypatch):
    # the scorer's window is still open: its last edits are in the -wal file only
    writer = ScoringSession.open(study, n_epochs=N, who="tech-01")
    try:
        writer.set_stage(4, Stage.REM)
        assert study.with_name(study.name + ".psglens-wal").stat().st_size > 0
        monkeypatch.setattr("app.core.scoring.session.read_only_reason",
                            lambda p: "its folder is read-only")
        with ScoringSession.open(study, n_epochs=N) as review:
            assert review.read_only == "its folder is read-only"
            assert review.technician_hypnogram().stages[4] == Stage.REM
    finally:
        writer.close()


def test_a_read_only_session_of_another_study_or_damaged_is_still_refused(study,
                                                                          monkeypatch):
    with ScoringSession.open(study, n_epochs=N) as s:
        s.set_stage(0, Stage.W)
    make_share_read_only(monkeypatch, study.parent)
    try:
        with pytest.raises(SessionError, match="epochs"):
            ScoringSession.open(study, n_epochs=N + 5)
        study.parent.chmod(0o755)
        session = study.with_name(study.name + ".psglens")
        session.write_bytes(b"not sqlite at all" * 100)
        with pytest.raises(SessionError, match="damaged"):
            ScoringSession.open(study, n_epochs=N)
    finally:
        study.parent.chmod(0o755)


def test_workspace_review_keeps_the_view_in_memory(monkeypatch, tmp_path):
    from app.core.synth import make_study_file
    from app.core.workspace import Workspace

    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "share").mkdir()
    path = tmp_path / "share" / "night.edf"
    make_study_file(path, stages=np.array([0, 1, 2, 2]), seed=1, sfreq=100.0)
    ws = Workspace.open(path)
    ws.score(Stage.N1, epoch=1, advance=False)
    ws.close()
    make_share_read_only(monkeypatch, path.parent)
    try:
        ws = Workspace.open(path)
        assert ws.read_only
        ws.set_epoch(3)
        assert ws.save_state() is False  # nothing to write to: not an error every 30 s
        with pytest.raises(SessionReadOnlyError):
            ws.score(Stage.N3, epoch=0, advance=False)
        ws.close()
    finally:
        path.parent.chmod(0o755)
    assert not os.path.exists(str(path) + ".psglens.lock")


def test_a_session_open_elsewhere_opens_for_review_naming_its_holder(study):
    from app.core.scoring.study_identity import SessionLockedError

    holder = ScoringSession.open(study, n_epochs=N, who="tech-night")
    try:
        holder.set_stage(0, Stage.N2)
        with pytest.raises(SessionLockedError) as err:  # scripts are still refused
            ScoringSession.open(study, n_epochs=N)
        assert "@" in err.value.holder and "pid" in err.value.holder
        with ScoringSession.open(study, n_epochs=N, review_if_locked=True) as review:
            assert review.read_only.startswith("it is open by ")
            assert err.value.holder.split(" since ")[0] in review.read_only
            assert review.technician_hypnogram().stages[0] == Stage.N2  # via the WAL
            with pytest.raises(SessionReadOnlyError):
                review.set_stage(1, Stage.W)
            holder.set_stage(1, Stage.N3)  # the holder keeps scoring while reviewed
        assert holder.technician_hypnogram().stages[1] == Stage.N3
    finally:
        holder.close()
    with ScoringSession.open(study, n_epochs=N) as s:  # the lock is free again: writable
        assert s.read_only is None and s.technician_hypnogram().stages[1] == Stage.N3
