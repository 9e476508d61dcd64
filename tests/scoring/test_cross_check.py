"""The cross-check: how much of a night two stagers agree on, and what to review first."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.scoring.cross_check import (
    LOW_AGREEMENT,
    CrossCheckError,
    annotate,
    cross_check,
)
from app.core.scoring.hypnogram import Hypnogram, Source


def _hyp(labels: str, **kw) -> Hypnogram:
    names = {"W": "W", "1": "N1", "2": "N2", "3": "N3", "R": "REM", "?": "Unscored",
             "A": "Artifact"}
    return Hypnogram.from_labels([names[c] for c in labels], **kw)


def test_counts_only_epochs_both_staged():
    model = _hyp("W12?2A3R")
    peer = _hyp("W22222?R")
    c = cross_check(model, peer, name="YASA")
    # epoch 4 (model unscored), 6 (artifact) and 7 (peer unscored) are not compared
    assert c.n_compared == 5 and c.n_disagree == 1
    assert c.agreement == pytest.approx(0.8)
    assert c.note(1) == "YASA: N2 (model: N1)" and c.note(0) == "" and c.note(3) == ""


def test_longest_stretch_of_disagreement_is_named_in_epochs_and_minutes():
    model = _hyp("W1122222" + "1" * 24 + "22")
    peer = _hyp("W2222222" + "2" * 24 + "22")
    c = cross_check(model, peer, name="YASA")
    assert c.longest_run() == (8, 32)
    s = c.sentence()
    assert "26 of 34 epochs" in s and "epochs 9-32, 12 min" in s
    assert c.low and "review the whole night" in s


def test_the_stretch_is_given_in_clock_time_when_the_night_has_one():
    import datetime as dt

    start = dt.datetime(2024, 5, 1, 23, 0)
    c = cross_check(_hyp("WW11W", start_time=start), _hyp("WW22W", start_time=start))
    assert "epochs 3-4 (23:01:00-23:02:00), 1.0 min" in c.sentence()


def test_high_agreement_asks_to_review_only_the_flagged_epochs():
    model = _hyp("W" * 9 + "1")
    peer = _hyp("W" * 10)
    c = cross_check(model, peer, name="YASA")
    assert c.agreement == pytest.approx(0.9) and c.agreement >= LOW_AGREEMENT
    assert not c.low and "review them first" in c.sentence()
    assert "whole night" not in c.sentence()


def test_full_agreement_and_nothing_to_compare_are_said_plainly():
    assert "all 3 epochs as the model does" in cross_check(_hyp("W2R"), _hyp("W2R"),
                                                           name="YASA").sentence()
    none = cross_check(_hyp("??"), _hyp("W2"), name="YASA")
    assert np.isnan(none.agreement) and not none.low
    assert "not cross-checked" in none.sentence()
    assert none.to_dict()["agreement"] is None


def test_another_night_is_refused():
    with pytest.raises(CrossCheckError, match="not the same night"):
        cross_check(_hyp("W22"), _hyp("W2"))
    with pytest.raises(CrossCheckError, match="not the same night"):
        cross_check(_hyp("W2"), _hyp("W2", epoch_sec=20))


def test_annotate_adds_notes_and_summary_without_touching_stages():
    probs = np.full((4, 5), 0.2, np.float32)
    model = _hyp("W122", probabilities=probs, source=Source.MODEL)
    model = model.copy(notes=["", "", "EEG C4-M1 is flat", ""],
                       meta={"notices": ["earlier notice"]})
    peer = _hyp("W222", scorer="yasa/0.8")
    out = annotate(model, cross_check(model, peer))
    assert np.array_equal(out.stages, model.stages)
    assert np.array_equal(out.probabilities, probs)
    assert out.notes == ["", "yasa/0.8: N2 (model: N1)", "EEG C4-M1 is flat", ""]
    assert out.meta["notices"][0] == "earlier notice"
    assert out.meta["cross_check"]["n_disagree"] == 1
    assert out.meta["cross_check"]["sentence"] == out.meta["notices"][-1]
    assert model.notes[1] == ""  # the input hypnogram is left as it was


def test_annotate_refuses_a_check_made_for_another_hypnogram():
    a, b = _hyp("W12"), _hyp("W22")
    with pytest.raises(CrossCheckError, match="another hypnogram"):
        annotate(b, cross_check(a, b))
