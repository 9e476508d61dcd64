"""Scorers side by side: the epochs where any two differ with who said what, pairwise
kappa through agreement.py, and the majority consensus of three or more with its ties
left unscored and listed; on the workspace, the technician, model runs and imports."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.scoring.agreement import AgreementError, agreement
from app.core.scoring.consensus import compare_scorers
from app.core.scoring.hypnogram import Hypnogram
from app.core.workspace import Workspace

W, N1, N2, N3, R, U, A = 0, 1, 2, 3, 4, -1, -2


def one_sentence(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("."), msg
    assert not re.search(r"[.;]\s+[A-Z][a-z]+ [a-z]", msg), msg
    return msg


def test_differences_name_who_said_what_and_unscored_abstains():
    start = dt.datetime(2024, 3, 1, 23, 0)
    tech = Hypnogram(np.array([W, N2, N2, U, A, R], np.int8), start_time=start)
    model = np.array([W, N3, N2, N2, N2, U])
    c = compare_scorers({"Technician": tech, "#1 model": model})
    assert [d.epoch for d in c.differences] == [1, 4]  # 3 and 5: one side did not label
    assert c.differences[0].said == (("Technician", "N2"), ("#1 model", "N3"))
    assert c.differences[1].describe() == "Epoch 5 (23:02:00): Technician Artifact, #1 model N2"
    assert c.consensus is None and c.ties.size == 0  # two scorers: no majority to take


def test_pairwise_agreement_is_agreement_py():
    a, b, d = np.array([W, N2, N2, N3, R]), np.array([W, N2, N3, N3, R]), np.array([N1] * 5)
    c = compare_scorers([("a", a), ("b", b), ("d", d)])
    got = c.agreement("a", "b")
    want = agreement(a, b)
    assert (got.kappa, got.accuracy, got.macro_f1) == (want.kappa, want.accuracy, want.macro_f1)
    assert np.array_equal(got.confusion, want.confusion)
    assert np.array_equal(c.agreement("b", "a").confusion, agreement(b, a).confusion)
    k = c.kappa_matrix()
    assert np.allclose(np.diag(k), 1) and np.allclose(k, k.T, equal_nan=True)
    assert k[0, 1] == pytest.approx(want.kappa)
    assert set(c.consensus_agreement()) == {"a", "b", "d"}
    with pytest.raises(AgreementError) as err:
        c.agreement("a", "z")
    assert "no scorer named 'z'; the scorers are a, b, d" in one_sentence(err)


def test_the_consensus_is_the_majority_and_ties_are_left_unscored_and_listed():
    tech = np.array([W, N2, N2, N3, U, A, R, U])
    model = np.array([W, N3, N2, N2, U, A, N1, U])
    lab = np.array([N1, N3, N1, N1, U, N2, U, N2])
    c = compare_scorers({"tech": tech, "model": model, "lab": lab})
    assert c.consensus.labels() == ["W", "N3", "N2", "Unscored", "Unscored", "Artifact",
                                    "Unscored", "N2"]
    # 3: N3, N2, N1 is a three-way tie; 6: REM against N1 (lab abstains); 4: no one voted
    assert c.ties.tolist() == [3, 6]
    assert c.consensus.scorer == "consensus"


@pytest.mark.parametrize("scorers, words", [
    ({"tech": np.zeros(4)}, "needs at least two scorings"),
    ([("tech", np.zeros(4)), ("tech", np.zeros(4))], "both named 'tech'"),
    ({"tech": np.zeros(4), "lab": np.zeros(5)}, "tech has 4 epochs but lab has 5"),
])
def test_scorings_that_cannot_be_compared_are_one_sentence(scorers, words):
    with pytest.raises(AgreementError) as err:
        compare_scorers(scorers)
    assert words in one_sentence(err)


labels = st.sampled_from([W, N1, N2, N3, R, U, A])


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 5).flatmap(
    lambda k: st.lists(st.lists(labels, min_size=k, max_size=k), min_size=1, max_size=30)))
def test_differences_and_ties_match_a_count_by_hand(columns):
    stages = np.array(columns).T  # (scorers, epochs)
    names = [f"s{i}" for i in range(len(stages))]
    c = compare_scorers(list(zip(names, stages)))
    differ, ties = [], []
    for e, col in enumerate(columns):
        said = [s for s in col if s != U]
        if len(set(said)) > 1:
            differ.append(e)
        if said:
            counts = {s: said.count(s) for s in set(said)}
            top = max(counts.values())
            if list(counts.values()).count(top) > 1:
                ties.append(e)
            elif c.consensus is not None:
                assert c.consensus.stages[e] == max(counts, key=counts.get)
    assert [d.epoch for d in c.differences] == differ
    if len(names) >= 3:
        assert c.ties.tolist() == ties
        assert all(c.consensus.stages[e] == U for e in ties)


# -- the open study -----------------------------------------------------------------------
@pytest.fixture
def ws(tmp_path):
    from conftest import write_edf

    rng = np.random.default_rng(2)
    chans = {n: (rng.normal(0, 20, 180 * 100), 100.0) for n in ("C4-M1", "E1-M2", "Chin")}
    w = Workspace.open(write_edf(tmp_path / "night.edf", chans), who="tech-01")
    yield w
    w.close()


def test_the_workspace_compares_the_technician_the_runs_and_the_imports(ws, tmp_path):
    from app.core.formats import write_hypnogram

    for e, s in enumerate([W, N1, N2, N2, N3, R]):
        ws.score(s, e, advance=False)
    run = ws.start_run("fake-model")
    probs = np.eye(5, dtype=np.float32)[[W, N2, N2, N3, N3, R]]
    ws.add_model_batch(run, np.arange(6), probs)
    for name, stages in (("lab-a", [W, N1, N2, N3, N3, N2]), ("lab-b", [W, N1, N3, N3, U, N2])):
        path = tmp_path / f"{name}.csv"
        write_hypnogram(Hypnogram(np.array(stages, np.int8), scorer=name,
                                  start_time=ws.recording.start_time), path)
        ws.import_hypnogram(path)
    assert list(ws.scorers()) == ["Technician", f"#{run} fake-model", "lab-a", "lab-b"]
    c = ws.compare_scorers()
    assert [d.epoch for d in c.differences] == [1, 2, 3, 5]  # 4: N3 by all who staged it
    assert c.differences[0].said == (("Technician", "N1"), (f"#{run} fake-model", "N2"),
                                     ("lab-a", "N1"), ("lab-b", "N1"))
    assert c.consensus.labels() == ["W", "N1", "N2", "N3", "N3", "Unscored"]
    assert c.ties.tolist() == [5]  # REM, REM against N2, N2
    two = ws.compare_scorers(["Technician", "lab-b"])
    assert two.consensus is None and two.names == ("Technician", "lab-b")
    with pytest.raises(AgreementError) as err:
        ws.compare_scorers(["Technician", "lab-c"])
    assert "no scoring named 'lab-c'" in one_sentence(err)
    assert ws.technician.stages.tolist() == [W, N1, N2, N2, N3, R]  # nothing changed
    against = c.consensus_agreement()["lab-b"]  # epochs 0-3 staged by both; 2 differs
    assert (against.n_epochs, against.accuracy) == (4, 0.75)
