"""Event indices per hour of sleep (AASM): AHI, RDI, ODI, arousal index, PLMI, PLMS-arousal
index; overall, by stage, by position; technician and detector events never mixed."""

from __future__ import annotations

import pytest

from app.core.scoring.event_indices import (
    DEFINITIONS,
    PositionTrack,
    event_indices,
    position_from_events,
    position_label,
)
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram

T = EventType


def _hyp(labels: str) -> Hypnogram:
    """One character per 30-s epoch: W, 1, 2, 3, R."""
    m = {"W": "W", "1": "N1", "2": "N2", "3": "N3", "R": "REM", "?": "Unscored"}
    return Hypnogram.from_labels([m[c] for c in labels])


def _ev(kind: EventType, onset: float, duration: float = 10.0, **kw) -> Event:
    return Event(kind, float(onset), duration, **kw)


def test_ahi_counts_apneas_and_hypopneas_in_sleep_per_hour_of_sleep():
    hyp = _hyp("W" * 20 + "2" * 100 + "R" * 20)           # 60 min of sleep
    events = [_ev(T.OBSTRUCTIVE_APNEA, 700), _ev(T.CENTRAL_APNEA, 1000),
              _ev(T.MIXED_APNEA, 1300), _ev(T.HYPOPNEA, 3700),   # REM
              _ev(T.HYPOPNEA, 100),                               # in wake: not counted
              _ev(T.RERA, 2000), _ev(T.AROUSAL, 2010, 4)]
    ix = event_indices(events, hyp).scored
    o = ix.overall
    assert o["ahi"].hours == pytest.approx(1.0)
    assert (o["ahi"].count, o["ahi"].value) == (4, 4.0)
    assert o["rdi"].count == 5 and o["apnea_index"].count == 3
    assert o["central_apnea_index"].count == 1 and o["hypopnea_index"].count == 1
    assert o["arousal_index"].value == 1.0
    assert ix.by_stage["REM"]["ahi"].count == 1
    assert ix.by_stage["REM"]["ahi"].value == pytest.approx(6.0)     # 1 in 10 min
    assert ix.by_stage["NREM"]["ahi"].value == pytest.approx(3 / (50 / 60))
    assert ix.by_stage["N3"]["ahi"].value is None                    # no N3 time
    assert ix.source == "scored" and "technician" in ix.title


def test_detector_events_are_counted_apart_and_never_in_the_technicians_ahi():
    hyp = _hyp("2" * 120)
    events = [_ev(T.HYPOPNEA, 100), _ev(T.HYPOPNEA, 200, source=EventSource.IMPORTED),
              _ev(T.HYPOPNEA, 300, source=EventSource.STUDY),
              _ev(T.HYPOPNEA, 400, source=EventSource.DETECTOR, confidence=0.9),
              _ev(T.HYPOPNEA, 500, source=EventSource.DETECTOR, confidence=0.6)]
    ix = event_indices(events, hyp)
    assert ix.scored.overall["ahi"].count == 3
    assert ix.detector.overall["ahi"].count == 2
    assert "not reviewed" in ix.detector.title
    assert event_indices(events[:3], hyp).detector is None
    assert event_indices(events[:3], hyp, detector=True).detector.overall["ahi"].count == 0


def test_odi_3_and_4_follow_the_drop_and_say_when_it_is_missing():
    hyp = _hyp("2" * 120)
    events = [_ev(T.DESATURATION, 100, detail={"drop_pct": 3.4}),
              _ev(T.DESATURATION, 200, detail={"drop_pct": 4.0}),
              _ev(T.DESATURATION, 300, detail={"spo2_baseline": 95.0, "spo2_nadir": 89.0}),
              _ev(T.DESATURATION, 400)]
    ix = event_indices(events, hyp).scored
    assert ix.overall["odi3"].count == 3 and ix.overall["odi4"].count == 2
    assert any("1 desaturation(s) carry no drop" in n for n in ix.notes)


def test_a_plm_and_an_arousal_less_than_half_a_second_apart_are_associated():
    hyp = _hyp("2" * 120)
    plms = [_ev(T.PLM, 100, 2), _ev(T.PLM, 130, 2), _ev(T.PLM, 160, 2), _ev(T.PLM, 190, 2)]
    arousals = [_ev(T.AROUSAL, 102.4, 3),      # 0.4 s after the PLM ends
                _ev(T.AROUSAL, 127.0, 2.6),    # ends 0.4 s before the PLM starts
                _ev(T.AROUSAL, 160.5, 3),      # overlapping
                _ev(T.AROUSAL, 192.6, 3)]      # 0.6 s after: not associated
    ix = event_indices(plms + arousals + [_ev(T.LIMB_MOVEMENT, 400, 2)], hyp).scored
    assert ix.overall["plmi"].count == 4
    assert ix.overall["plms_arousal_index"].count == 3
    assert not ix.notes


def test_movements_never_marked_as_a_series_form_one_by_the_rules():
    lms = [_ev(T.LIMB_MOVEMENT, 100 + 25 * k, 2) for k in range(5)]
    assert event_indices(lms, _hyp("2" * 120)).scored.overall["plmi"].count == 5
    assert event_indices(lms[:3], _hyp("2" * 120)).scored.overall["plmi"].count == 0


def test_by_position_splits_sleep_time_and_events_into_supine_and_not():
    hyp = _hyp("2" * 120)                                   # 3600 s
    pos = [_ev(T.POSITION_CHANGE, 0, 0, text="Body position: Supine"),
           _ev(T.POSITION_CHANGE, 1800, 0, text="Position change to Left")]
    events = pos + [_ev(T.OBSTRUCTIVE_APNEA, t) for t in (100, 400, 900, 2000)]
    ix = event_indices(events, hyp).scored
    sup, non = ix.by_position["supine"]["ahi"], ix.by_position["non-supine"]["ahi"]
    assert (sup.count, sup.hours, sup.value) == (3, 0.5, 6.0)
    assert (non.count, non.hours, non.value) == (1, 0.5, 2.0)
    assert not ix.notes


def test_time_before_the_first_position_mark_is_in_neither_column():
    hyp = _hyp("2" * 120)
    track = PositionTrack((900.0,), ("supine",))
    ix = event_indices([_ev(T.HYPOPNEA, 100), _ev(T.HYPOPNEA, 1000)], hyp, position=track).scored
    assert ix.by_position["supine"]["ahi"].count == 1
    assert ix.by_position["non-supine"]["ahi"].hours == 0
    assert any("unknown for 0.25 h" in n for n in ix.notes)
    assert event_indices([_ev(T.HYPOPNEA, 100)], hyp).scored.by_position == {}


def test_without_sleep_every_index_is_undefined_and_a_note_says_why():
    ix = event_indices([_ev(T.HYPOPNEA, 100)], _hyp("W" * 10 + "?" * 10)).scored
    assert all(v.value is None for v in ix.overall.values())
    assert ix.overall["ahi"].format() == "—"
    assert any("no sleep epoch" in n for n in ix.notes)


def test_events_outside_the_hypnogram_are_not_counted():
    ix = event_indices([_ev(T.HYPOPNEA, 5000), _ev(T.HYPOPNEA, -5)], _hyp("2" * 10)).scored
    assert ix.overall["ahi"].count == 0


@pytest.mark.parametrize("text, label", [("Supine", "supine"), ("Body Position: Back", "supine"),
                                         ("prone", "prone"), ("Front", "prone"),
                                         ("from supine to right", "right"),
                                         ("Position: Upright", "upright"), ("Snore", None)])
def test_position_texts(text, label):
    assert position_label(text) == label


def test_position_track_from_events_ignores_texts_without_a_position():
    track = position_from_events([_ev(T.POSITION_CHANGE, 10, 0, text="Position change"),
                                  _ev(T.POSITION_CHANGE, 20, 0, text="Left"),
                                  _ev(T.POSITION_CHANGE, 30, 0, text="planted",
                                      detail={"from": "left", "to": "supine"})])
    assert track.times == (20.0, 30.0) and track.at(15.0) is None
    assert track.at(25.0) == "left" and track.at(35.0) == "supine"


def test_every_index_has_a_definition_and_the_table_serialises():
    ix = event_indices([_ev(T.HYPOPNEA, 100)], _hyp("2" * 120))
    d = ix.to_dict()
    assert set(d["scored"]["overall"]) == set(DEFINITIONS)
    assert d["scored"]["overall"]["ahi"] == {"count": 1, "hours": 1.0, "per_hour": 1.0}
    assert all(defn.text.endswith(".") for defn in DEFINITIONS.values())


def test_scored_limb_movements_make_plm_series_by_the_aasm_rules():
    # a lab's annotations: movements on both legs, no PLM typed; 5 movements 25 s apart
    # (each marked on the left and the right leg) are one series of 5, counted once
    from app.core.scoring.event_indices import event_indices
    from app.core.scoring.events import Event, EventSource, EventType
    from app.core.scoring.hypnogram import Hypnogram

    lms = []
    for k in range(5):
        for side, lag in (("Left", 0.0), ("Right", 0.3)):
            lms.append(Event(EventType.LIMB_MOVEMENT, 600 + 25 * k + lag, 1.5, (),
                             EventSource.STUDY, detail={"name": f"Limb Movement ({side})"}))
    lms.append(Event(EventType.LIMB_MOVEMENT, 2000.0, 1.5, (), EventSource.STUDY))  # alone
    hyp = Hypnogram([2] * 120)  # an hour of N2
    table = event_indices(lms, hyp).scored
    assert table.overall["plmi"].count == 5 and table.overall["plmi"].value == 5.0


def test_an_apnea_of_no_given_kind_counts_in_the_ahi():
    from app.core.formats.event_files import events_from_annotations
    from app.core.scoring.event_indices import event_indices
    from app.core.scoring.events import EventType
    from app.core.scoring.hypnogram import Hypnogram

    found = events_from_annotations([(600.0, 15.0, "Apnea"), (900.0, 12.0, "Hypopnea")])
    assert [f.event.type for f in found] == [EventType.APNEA, EventType.HYPOPNEA]
    table = event_indices([f.event for f in found], Hypnogram([2] * 120)).scored.overall
    assert table["ahi"].count == 2 and table["apnea_index"].count == 1
    assert table["central_apnea_index"].count == 0
