"""A chat model's written answers live in the session with its run: on disk at once,
the latest per epoch, back after reopening, a damaged row costing only that row."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from app.core.scoring.session import ScoringSession
from app.errors import SessionError

N = 20


def _answer(stage, text="", mode="rationale"):
    return {"stage": stage, "rationale": text, "rules": ["N2.1"] if text else [],
            "mode": mode, "note": ""}


def test_answers_are_kept_per_run_and_the_latest_wins(tiny_study):
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        run = s.add_model_run("sleepvlm-3b/fine", "{}", np.zeros((0, 5), np.float32))
        other = s.add_model_run("sleepvlm-3b/fine", "{}", np.zeros((0, 5), np.float32))
        seen = []
        s.on_change.append(lambda kind, payload: seen.append((kind, payload)))
        s.add_model_answers(run, {3: _answer("N2", "", "fast"), 4: _answer(None)})
        s.add_model_answers(run, {3: _answer("N2", "Spindles.")})
        assert ("model_answers", {"run_id": run, "epochs": [3]}) in seen
        got = s.model_answers(run)
        assert got[3]["rationale"] == "Spindles." and got[4]["stage"] is None
        assert s.model_answers(other) == {}
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:  # on disk, not in memory
        assert s.model_answers(run)[3]["rules"] == ["N2.1"]


def test_answers_for_a_missing_run_or_epoch_are_refused(tiny_study):
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        run = s.add_model_run("m", "{}")
        with pytest.raises(SessionError, match="no model run 99"):
            s.add_model_answers(99, {1: _answer("W")})
        with pytest.raises(IndexError, match="outside this night"):
            s.add_model_answers(run, {N: _answer("W")})
        assert s.model_answers(run) == {}


def test_a_damaged_answer_row_loses_only_that_epoch(tiny_study):
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        run = s.add_model_run("m", "{}")
        s.add_model_answers(run, {1: _answer("W", "Alpha."), 2: _answer("N1", "Theta.")})
        path = s.path
    db = sqlite3.connect(path)
    db.execute("UPDATE model_answers SET answer = '{broken' WHERE epoch = 1")
    db.commit()
    db.close()
    with ScoringSession.open(tiny_study, n_epochs=N, who="t") as s:
        got = s.model_answers(run)
        assert list(got) == [2] and got[2]["rationale"] == "Theta."
