"""Hypopneas: the nasal-pressure excursion drops by 30 % or more for 10 s or more, with a
desaturation or an arousal.

AASM Manual v2.6/v3 (Berry et al.), rule 1A (recommended): a drop of the peak
nasal-pressure excursion by >= 30 % of the pre-event baseline lasting >= 10 s, associated
with a >= 3 % oxygen desaturation or an arousal. Rule 1B (acceptable; CMS): the same drop
with a >= 4 % desaturation, arousals not counted. A drop that meets the apnea criterion
(>= 90 %) is an apnea, never a hypopnea, and a stretch overlapping a detected apnea is
left to it. Without a nasal-pressure channel the oronasal thermal signal is used (the
AASM alternative sensor) and ``detail["sensor"]`` says so.

Association, as scorers read it: the desaturation's nadir lies between the event's
onset and 30 s after its end (blood takes that long to reach the finger), or an arousal
begins between the onset and 5 s after the end. A desaturation confirms one event only:
one whose nadir follows an apnea belongs to that apnea.

Examples
--------
>>> import numpy as np
>>> from app.core.detectors.breathing import Breathing
>>> from app.core.scoring.events import Event, EventType
>>> rate, t = 10.0, np.arange(0, 600, 0.1)
>>> r = np.where((t >= 300) & (t < 320), 0.5, 1.0)         # a 50 % drop for 20 s
>>> flow = Breathing("Nasal Pressure", r, r, np.ones_like(r), rate)
>>> desat = Event(EventType.DESATURATION, 330.0, 15.0, detail={"drop_pct": 3.5,
...               "nadir_s": 335.0})
>>> [(e.onset, e.duration) for e in hypopneas(flow, [desat], [], rule="1A")]
[(300.0, 20.0)]
>>> hypopneas(flow, [desat], [], rule="1B")
[]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.core.detectors.breathing import Breathing, breathing
from app.core.detectors.reading import DetectorSkipped, body_sources, confidence, missing, runs
from app.core.scoring.events import Event, EventSource, EventType
from app.core.signals.recording import Recording

HYPOPNEA_RATIO = 0.70     # >= 30 % drop
APNEA_RATIO = 0.10
MIN_SEC, MAX_SEC = 10.0, 120.0
BRIDGE_SEC = 2.0
DESAT_AFTER_SEC, AROUSAL_AFTER_SEC = 30.0, 5.0
RULES = {"1A": 3.0, "1B": 4.0}


def check_rule(rule: str) -> str:
    """The rule name in capitals; anything but 1A or 1B is a sentence."""
    r = str(rule).strip().upper()
    if r not in RULES:
        raise DetectorSkipped(f"Unknown hypopnea rule {rule!r}: use 1A (30 % drop with a 3 % "
                              "desaturation or an arousal) or 1B (30 % drop with a 4 % "
                              "desaturation).")
    return r


def detect_hypopneas(rec: Recording, *, desaturations: Sequence[Event] | None,
                     arousals: Sequence[Event] | None, apneas: Sequence[Event] = (),
                     rule: str = "1A") -> list[Event]:
    """Hypopneas of the study under AASM rule ``1A`` or ``1B``.

    ``desaturations`` and ``arousals`` are the events that can confirm a hypopnea (None:
    not available: no SpO2, or no hypnogram for arousals).

    Raises
    ------
    DetectorSkipped
        No airflow sensor, or nothing that could confirm a hypopnea under the rule.
    """
    rule = check_rule(rule)
    src = body_sources(rec)
    flow_src = src["pressure"] or src["flow"]
    if flow_src is None:
        raise missing(("pressure", "flow"), "hypopneas were not detected")
    if desaturations is None and rule == "1B":
        raise missing(("spo2",), "hypopneas were not detected, because rule 1B confirms each "
                      "one with a 4 % desaturation")
    if desaturations is None and arousals is None:
        raise DetectorSkipped("No SpO2 channel and no arousals (they need a hypnogram): "
                              "hypopneas were not detected, because rule 1A confirms each "
                              "one with a 3 % desaturation or an arousal.")
    sensor = "nasal pressure" if src["pressure"] is not None else "thermal (AASM alternative)"
    return hypopneas(breathing(rec, flow_src), desaturations or [], arousals or [],
                     apneas=apneas, rule=rule, sensor=sensor)


def hypopneas(flow: Breathing, desaturations: Sequence[Event], arousals: Sequence[Event], *,
              apneas: Sequence[Event] = (), rule: str = "1A",
              sensor: str = "nasal pressure") -> list[Event]:
    """Hypopneas in a flow excursion ratio, confirmed by desaturations or arousals."""
    rule = check_rule(rule)
    need = RULES[rule]
    r = flow.ratio
    low = np.isfinite(r) & (r <= HYPOPNEA_RATIO)
    # a desaturation confirms one event: one that follows an apnea is the apnea's
    desats = [d for d in desaturations if d.detail.get("drop_pct", need) >= need
              and not any(ap.onset < _nadir(d) <= ap.end + DESAT_AFTER_SEC for ap in apneas)]
    nadirs = np.array([_nadir(d) for d in desats])
    claimed = np.zeros(nadirs.size, bool)
    arousal_on = np.array([a.onset for a in arousals]) if rule == "1A" else np.zeros(0)
    out = []
    for a, b in runs(low, bridge=int(BRIDGE_SEC * flow.rate)):
        onset, sec = a / flow.rate, (b - a) / flow.rate
        if not MIN_SEC <= sec <= MAX_SEC:
            continue
        depth = float(np.nanmedian(r[a:b]))
        if depth <= APNEA_RATIO or any(ap.overlaps((onset, onset + sec)) for ap in apneas):
            continue
        end = onset + sec
        hit_d = np.flatnonzero((nadirs > onset) & (nadirs <= end + DESAT_AFTER_SEC) & ~claimed)
        hit_a = np.flatnonzero((arousal_on >= onset) & (arousal_on <= end + AROUSAL_AFTER_SEC))
        if hit_d.size == 0 and hit_a.size == 0:
            continue
        claimed[hit_d[:1]] = True
        drop = desats[hit_d[0]].detail.get("drop_pct", need) if hit_d.size else None
        detail = {"flow_drop_pct": round(100 * (1 - depth), 1), "rule": rule, "sensor": sensor,
                  "desaturation_pct": drop,
                  "arousal_onset_s": round(float(arousal_on[hit_a[0]]), 1) if hit_a.size
                  else None}
        margin = ((1 - depth) - (1 - HYPOPNEA_RATIO)) / (1 - HYPOPNEA_RATIO)
        out.append(Event(EventType.HYPOPNEA, onset=float(onset), duration=float(sec),
                         channels=(flow.name,), source=EventSource.DETECTOR,
                         confidence=confidence(float(margin)), text=f"AASM rule {rule}",
                         detail=detail))
    return out


def _nadir(d: Event) -> float:
    return float(d.detail.get("nadir_s", d.onset + d.duration / 2))
