"""A session file that is SQLite but not ours, or ours but damaged, is reported in words
and never written to; broken JSON values cost only themselves, never the edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core.scoring.session import ScoringSession
from app.core.scoring.stages import Stage
from app.core.scoring.study_identity import session_path_for
from app.errors import SessionError

N = 20


def _session_file(tiny_study: Path) -> Path:
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        s.set_stage(3, Stage.N2)
        return s.path


def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tiny_study):
    target = session_path_for(tiny_study)
    target.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target)
    db.execute("CREATE TABLE songs (title TEXT)")
    db.commit()
    db.close()
    with pytest.raises(SessionError, match="not a PSG Lens session .* move it aside"):
        ScoringSession.open(tiny_study, n_epochs=N, who="t")
    tables = {r[0] for r in sqlite3.connect(target).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"songs"}


@pytest.mark.parametrize("damage, words", [
    ("DROP TABLE edits", "table\\(s\\) edits missing"),
    ("DELETE FROM meta WHERE key = 'n_epochs'", "the value 'n_epochs' is missing"),
    ("UPDATE meta SET value = 'x' WHERE key = 'epoch_sec'", "a stored value cannot be read"),
    ("UPDATE meta SET value = '{broken' WHERE key = 'study'", "a stored value cannot be read"),
])
def test_a_damaged_session_is_reported(tiny_study, damage, words):
    path = _session_file(tiny_study)
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS edits_no_update")
    db.execute("DROP TRIGGER IF EXISTS edits_no_delete")
    db.execute(damage)
    db.commit()
    db.close()
    with pytest.raises(SessionError, match=f"damaged PSG Lens session \\({words}"):
        ScoringSession.open(tiny_study, n_epochs=N, who="t")


def test_broken_json_values_cost_only_themselves(tiny_study):
    path = _session_file(tiny_study)
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        s.add_model_run("m", "{}")
        s.set_state("view", {"epoch": 3})
    db = sqlite3.connect(path)
    db.execute("UPDATE model_runs SET meta = '{oops'")
    db.execute("UPDATE state SET value = 'not json' WHERE key = 'view'")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('channel_map', '[1,')")
    db.commit()
    db.close()
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        assert s.technician_hypnogram().stages[3] == Stage.N2     # the edit is there
        assert s.model_runs()[0].meta == {"damaged_meta": True}
        assert s.get_state("view", "default") == "default" and s.channel_map is None
