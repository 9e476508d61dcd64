"""How well detected events match reference events: overlap matching, F1 per type.

Event-level scoring as event-detection papers do it: a detected event and a reference
event of the same type *match* when they overlap in time (optionally by at least
``min_iou`` of their union); each event matches at most one other, the pairs with the
largest overlap first. Matched detections are true positives, unmatched detections false
positives, unmatched reference events false negatives; F1 = 2 TP / (2 TP + FP + FN).

Types can be grouped (``groups``): scoring "any apnea" with obstructive, central and mixed
together says whether apneas were found; scoring each type says whether they were typed.

Examples
--------
>>> from app.core.scoring.events import Event, EventType
>>> truth = [Event(EventType.HYPOPNEA, 100.0, 20.0), Event(EventType.HYPOPNEA, 300.0, 15.0)]
>>> found = [Event(EventType.HYPOPNEA, 104.0, 18.0), Event(EventType.HYPOPNEA, 500.0, 12.0)]
>>> s = match_events(found, truth)
>>> s.tp, s.fp, s.fn, round(s.f1, 2)
(1, 1, 1, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.core.scoring.events import Event, EventType


@dataclass(frozen=True)
class MatchScore:
    """Counts of one comparison, and the matched (detected, reference) index pairs."""

    tp: int
    fp: int
    fn: int
    pairs: tuple[tuple[int, int], ...] = ()

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """None when there was nothing to find and nothing was found."""
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    def to_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision,
                "recall": self.recall, "f1": self.f1}


def iou(a: Event, b: Event) -> float:
    """Intersection over union of two events' time spans (0 when apart)."""
    inter = min(a.end, b.end) - max(a.onset, b.onset)
    if inter <= 0:
        return 0.0
    union = max(a.end, b.end) - min(a.onset, b.onset)
    return inter / union if union > 0 else 1.0


def match_events(detected: Sequence[Event], reference: Sequence[Event], *,
                 min_iou: float = 0.0) -> MatchScore:
    """One-to-one overlap matching of two event lists (types are not compared here)."""
    pairs = []
    ref_on = np.array([r.onset for r in reference])
    order = np.argsort(ref_on) if ref_on.size else np.zeros(0, int)
    sorted_on = ref_on[order]
    longest = max((r.duration for r in reference), default=0.0)
    for i, d in enumerate(detected):
        lo = np.searchsorted(sorted_on, d.onset - longest, side="left")
        hi = np.searchsorted(sorted_on, d.end, side="right")
        for j in order[lo:hi]:
            v = iou(d, reference[j])
            if v > 0 and v >= min_iou:
                pairs.append((v, i, int(j)))
    pairs.sort(key=lambda p: -p[0])
    used_d, used_r, kept = set(), set(), []
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            kept.append((i, j))
    tp = len(kept)
    return MatchScore(tp, len(detected) - tp, len(reference) - tp, tuple(sorted(kept)))


def score_by_type(detected: Iterable[Event], reference: Iterable[Event], *,
                  groups: Mapping[str, Iterable[EventType]] | None = None,
                  min_iou: float = 0.0) -> dict[str, MatchScore]:
    """F1 per type (or per named group of types) present in either list.

    >>> from app.core.scoring.events import Event, EventType
    >>> t = [Event(EventType.CENTRAL_APNEA, 10.0, 12.0)]
    >>> d = [Event(EventType.OBSTRUCTIVE_APNEA, 11.0, 12.0)]
    >>> s = score_by_type(d, t, groups={"apnea": [EventType.OBSTRUCTIVE_APNEA,
    ...                                           EventType.CENTRAL_APNEA]})
    >>> s["apnea"].tp, s["central_apnea"].fn, s["obstructive_apnea"].fp
    (1, 1, 1)
    """
    det, ref = list(detected), list(reference)
    sets: dict[str, set[EventType]] = {t.value: {t} for t in
                                       sorted({e.type for e in det + ref}, key=lambda t: t.value)}
    for name, types in (groups or {}).items():
        sets[name] = set(types)
    return {name: match_events([e for e in det if e.type in types],
                               [e for e in ref if e.type in types], min_iou=min_iou)
            for name, types in sets.items()}
