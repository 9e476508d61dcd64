"""Event-level F1 by overlap matching, one to one, largest overlap first."""

from __future__ import annotations

import pytest

from app.core.detectors.evaluation import iou, match_events, score_by_type
from app.core.scoring.events import Event, EventType

H, OA, CA = EventType.HYPOPNEA, EventType.OBSTRUCTIVE_APNEA, EventType.CENTRAL_APNEA


def test_overlap_is_a_match_and_apart_is_not():
    s = match_events([Event(H, 10, 10), Event(H, 100, 10)], [Event(H, 15, 10)])
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.precision == 0.5 and s.recall == 1.0 and s.f1 == pytest.approx(2 / 3)
    assert s.pairs == ((0, 0),)


def test_one_detection_matches_one_reference_event_the_largest_overlap_first():
    truth = [Event(H, 0, 10), Event(H, 12, 10)]
    found = [Event(H, 8, 10)]           # overlaps both; more of the second
    s = match_events(found, truth)
    assert s.pairs == ((0, 1),) and (s.tp, s.fp, s.fn) == (1, 0, 1)


def test_a_minimum_iou_rejects_a_graze():
    a, b = Event(H, 0, 10), Event(H, 9, 10)
    assert iou(a, b) == pytest.approx(1 / 19)
    assert match_events([a], [b]).tp == 1
    assert match_events([a], [b], min_iou=0.2).tp == 0


def test_nothing_to_find_and_nothing_found_has_no_f1():
    s = match_events([], [])
    assert s.f1 is None and s.precision is None and s.recall is None


def test_scores_per_type_and_per_group():
    truth = [Event(CA, 10, 12), Event(H, 100, 20)]
    found = [Event(OA, 11, 12), Event(H, 105, 20), Event(H, 300, 20)]
    s = score_by_type(found, truth, groups={"apnea": [OA, CA]})
    assert s["apnea"].tp == 1                      # found, mistyped
    assert (s["central_apnea"].fn, s["obstructive_apnea"].fp) == (1, 1)
    assert (s["hypopnea"].tp, s["hypopnea"].fp) == (1, 1)
    assert s["hypopnea"].to_dict()["f1"] == pytest.approx(2 / 3)
