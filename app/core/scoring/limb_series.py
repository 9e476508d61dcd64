"""Limb-movement series, by the AASM rules: the same for a technician's marks, a lab's
imported annotations and the detector's movements.

AASM Manual v2.6/v3 (Berry et al.):

- movements on the two legs whose onsets are less than 5 s apart count as one;
- a PLM series is at least 4 consecutive LMs whose onset-to-onset intervals are 5-90 s;
- an LM from 0.5 s before to 0.5 s after an apnea, hypopnea or RERA is not part of a
  series (it stays an ``LIMB_MOVEMENT`` with ``detail["respiratory"]``).

Examples
--------
>>> from app.core.scoring.events import Event, EventType
>>> lms = [Event(EventType.LIMB_MOVEMENT, 100.0 + 25 * k, 2.0) for k in range(4)]
>>> [e.type.value for e in plm_series(lms)]
['plm', 'plm', 'plm', 'plm']
>>> [e.type.value for e in plm_series(lms[:3])]
['limb_movement', 'limb_movement', 'limb_movement']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.core.scoring.events import Event, EventType, sort_events

BILATERAL_SEC = 5.0
PLM_MIN_COUNT, PLM_INTERVAL = 4, (5.0, 90.0)
RESPIRATORY_MARGIN_SEC = 0.5
_SIDE = re.compile(r"\b(left|right|L|R)\b|\((left|right)\)|\b(LAT|RAT)\b", re.I)


def side_of(e: Event) -> str | None:
    """"left", "right", "both" or None: from the detector's ``detail["side"]``, else the
    name, text or channel a lab's annotation gives ("Limb Movement (Left)", "LAT")."""
    side = e.detail.get("side")
    if side:
        return str(side)
    for text in (e.detail.get("name", ""), e.text, *e.channels):
        m = _SIDE.search(str(text))
        if m:
            word = next(g for g in m.groups() if g).lower()
            return "left" if word in ("left", "l", "lat") else "right"
    return None


def merge_bilateral(lms: Sequence[Event]) -> list[Event]:
    """One movement for movements on two legs whose onsets are under 5 s apart."""
    out: list[Event] = []
    for e in sort_events(lms):
        prev = out[-1] if out else None
        if prev is not None and e.onset - prev.onset < BILATERAL_SEC \
                and side_of(e) != side_of(prev) and None not in (side_of(e), side_of(prev)):
            end = max(prev.end, e.end)
            out[-1] = prev.replace(
                duration=end - prev.onset, channels=tuple(dict.fromkeys(prev.channels + e.channels)),
                confidence=max(prev.confidence or 0, e.confidence or 0),
                detail={**prev.detail, "side": "both",
                        "peak_above_rest_uv": max(prev.detail.get("peak_above_rest_uv", 0),
                                                  e.detail.get("peak_above_rest_uv", 0))})
        else:
            out.append(e)
    return out



def plm_series(lms: Sequence[Event], respiratory: Sequence[Event] = ()) -> list[Event]:
    """The movements, those in a PLM series re-typed ``PLM`` (with their series number).

    ``respiratory`` events (apneas, hypopneas, RERAs) exclude the movements within 0.5 s
    of them from any series.
    """
    resp = sorted((r.onset - RESPIRATORY_MARGIN_SEC, r.end + RESPIRATORY_MARGIN_SEC)
                  for r in respiratory if r.type.is_respiratory)
    out, candidates = [], []
    for e in sort_events(lms):
        if any(e.overlaps(span) for span in resp):
            out.append(e.replace(type=EventType.LIMB_MOVEMENT,
                                 detail={**e.detail, "respiratory": True}))
        else:
            candidates.append(e)
    series, current = 0, []

    def close() -> None:
        nonlocal series
        if len(current) >= PLM_MIN_COUNT:
            series += 1
            for k, e in enumerate(current):
                gap = None if k == 0 else round(e.onset - current[k - 1].onset, 1)
                out.append(e.replace(type=EventType.PLM, detail={
                    **e.detail, "series": series, "in_series": k + 1, "interval_s": gap}))
        else:
            out.extend(e.replace(type=EventType.LIMB_MOVEMENT) for e in current)
        current.clear()

    for e in candidates:
        if current and not PLM_INTERVAL[0] <= e.onset - current[-1].onset <= PLM_INTERVAL[1]:
            close()
        current.append(e)
    close()
    return sort_events(out)


def with_plm_series(events: Sequence[Event]) -> list[Event]:
    """``events`` with their limb movements merged across legs and typed ``PLM`` where
    they form a series; unchanged when someone already typed PLMs (their call)."""
    if any(e.type is EventType.PLM for e in events):
        return list(events)
    lms = [e for e in events if e.type is EventType.LIMB_MOVEMENT]
    if not lms:
        return list(events)
    rest = [e for e in events if e.type is not EventType.LIMB_MOVEMENT]
    return sort_events(rest + plm_series(merge_bilateral(lms), rest))
