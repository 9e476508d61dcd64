"""Apneas: the oronasal thermal signal's excursion drops by 90 % or more for 10 s or more,
typed by the effort belts.

AASM Manual v2.6/v3 (Berry et al.), respiratory rules: an apnea is a drop of the peak
thermal-sensor excursion by >= 90 % of the pre-event baseline lasting >= 10 s. It is
*obstructive* if inspiratory effort continues or increases throughout the absent
airflow, *central* if effort is absent throughout, *mixed* if effort is absent in the
first part of the event and resumes in the second. When the thermal sensor is missing,
the AASM alternative (nasal pressure) is used and ``detail["sensor"]`` says so.

How it is measured (see :mod:`app.core.detectors.breathing` for the excursion and its
baseline): a stretch where the excursion is at most 10 % of baseline marks an apnea;
its edges are where the excursion crosses half the baseline (zero-phase filtering puts
that crossing where breathing stopped and restarted). Effort is *absent* where neither
belt reaches 25 % of its own baseline; the outer 1.5 s of each event, where the envelopes
are still moving, are left out of the typing. A low-flow stretch longer than 120 s is a
lost sensor, not an apnea, and is reported as such.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> t = np.arange(0, 600, 0.1)
>>> breath = np.sin(2 * np.pi * 0.25 * t)
>>> stop = (t >= 300) & (t < 320)
>>> rec = Recording.from_signals([("C4-M1", np.zeros(60000), 100.0, "uV"),
...     ("Airflow", np.where(stop, 0.0, breath), 10.0, ""),
...     ("Thorax", breath, 10.0, ""), ("Abdomen", -breath, 10.0, "")])
>>> [(e.type.value, round(e.onset), round(e.duration)) for e in detect_apneas(rec)]
[('obstructive_apnea', 300, 20)]
"""

from __future__ import annotations

import numpy as np

from app.core.detectors.breathing import Breathing, breathing
from app.core.detectors.reading import body_sources, clock, confidence, missing, runs
from app.core.scoring.events import Event, EventSource, EventType
from app.core.signals.recording import Recording

APNEA_RATIO = 0.10        # >= 90 % drop
EDGE_RATIO = 0.50         # the event's edges
MIN_SEC, MAX_SEC = 10.0, 120.0
EFFORT_ABSENT = 0.25
TRIM_SEC = 1.5
CENTRAL_ABSENT, MIXED_FIRST, MIXED_LAST = 0.75, 0.6, 0.4


def detect_apneas(rec: Recording, *, notes: list[str] | None = None) -> list[Event]:
    """Apneas of the study, typed obstructive, central or mixed.

    Raises
    ------
    DetectorSkipped
        No airflow sensor (thermal or nasal pressure).

    Without an effort belt the apneas are found but not typed (``APNEA``, "unclassified":
    the AHI counts them; obstructive or central is the technician's to say), and a note
    says so.
    """
    src = body_sources(rec)
    flow_src = src["flow"] or src["pressure"]
    if flow_src is None:
        raise missing(("flow", "pressure"), "apneas were not detected")
    belts = [s for s in (src["thorax"], src["abdomen"]) if s is not None]
    if not belts and notes is not None:
        notes.append("No thorax or abdomen effort channel: apneas were detected but not "
                     "typed obstructive, central or mixed (they count in the AHI as "
                     "unclassified apneas).")
    flow = breathing(rec, flow_src)
    efforts = [breathing(rec, b) for b in belts]
    sensor = "thermal" if src["flow"] is not None else "nasal pressure (AASM alternative)"
    return apneas(flow, efforts, sensor=sensor, notes=notes)


def apneas(flow: Breathing, efforts: list[Breathing], *, sensor: str = "thermal",
           notes: list[str] | None = None) -> list[Event]:
    """Apneas in a flow excursion ratio, typed with the effort belts' ratios."""
    r = flow.ratio
    valid = np.isfinite(r)
    low = valid & (r <= APNEA_RATIO)
    edge = valid & (r <= EDGE_RATIO)
    spans = set()
    for a, b in runs(low, bridge=int(flow.rate)):
        left, right = a, b
        while left > 0 and edge[left - 1]:
            left -= 1
        while right < r.size and edge[right]:
            right += 1
        spans.add((left, right))
    effort = _effort_ratio(efforts, r.size)
    out = []
    for left, right in sorted(spans):
        sec = (right - left) / flow.rate
        if sec < MIN_SEC:
            continue
        if sec > MAX_SEC:
            if notes is not None:
                notes.append(f"{flow.name} is almost flat from {clock(left / flow.rate)} for "
                             f"{sec / 60:.0f} min: a lost sensor, not scored as an apnea.")
            continue
        core = r[left:right][low[left:right]]
        depth = float(np.nanmedian(core)) if core.size else APNEA_RATIO
        kind, typing = _type(effort[left:right], flow.rate)
        conf = min(confidence((APNEA_RATIO - depth) / APNEA_RATIO), typing["certainty"])
        out.append(Event(
            kind, onset=float(left / flow.rate), duration=float(sec),
            channels=(flow.name, *(e.name for e in efforts)), source=EventSource.DETECTOR,
            confidence=conf,
            detail={"flow_drop_pct": round(100 * (1 - depth), 1), "sensor": sensor,
                    **{k: v for k, v in typing.items() if k != "certainty"}}))
    return out


def _effort_ratio(efforts: list[Breathing], n: int) -> np.ndarray:
    """Per sample, the larger of the belts' excursion ratios (either belt shows effort)."""
    stack = []
    for e in efforts:
        x = np.full(n, np.nan)
        m = min(n, e.ratio.size)
        x[:m] = e.ratio[:m]
        stack.append(x)
    with np.errstate(all="ignore"):
        return np.nanmax(np.vstack(stack), axis=0) if stack else np.full(n, np.nan)


def _type(effort: np.ndarray, rate: float) -> tuple[EventType, dict]:
    trim = int(TRIM_SEC * rate)
    inner = effort[trim: effort.size - trim] if effort.size > 4 * trim else effort
    inner = inner[np.isfinite(inner)]
    if inner.size == 0:  # no belt, or unreadable: an apnea, its kind not guessed
        return EventType.APNEA, {"effort": "unreadable", "certainty": 0.5}
    absent = inner < EFFORT_ABSENT
    third = max(1, inner.size // 3)
    whole, first, last = absent.mean(), absent[:third].mean(), absent[-third:].mean()
    info = {"effort_absent_pct": round(100 * float(whole), 1),
            "effort_absent_first_third_pct": round(100 * float(first), 1),
            "effort_absent_last_third_pct": round(100 * float(last), 1)}
    if whole >= CENTRAL_ABSENT:
        kind, margin = EventType.CENTRAL_APNEA, (whole - CENTRAL_ABSENT) / (1 - CENTRAL_ABSENT)
    elif first >= MIXED_FIRST and last <= MIXED_LAST:
        kind, margin = EventType.MIXED_APNEA, min(first - MIXED_FIRST, MIXED_LAST - last) / 0.4
    else:
        kind, margin = EventType.OBSTRUCTIVE_APNEA, (CENTRAL_ABSENT - whole) / CENTRAL_ABSENT
    return kind, {**info, "certainty": confidence(float(margin))}
