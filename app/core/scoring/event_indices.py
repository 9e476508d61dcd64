"""Event indices: AHI, RDI, ODI, arousal index, PLMI, each per hour of sleep.

Definitions follow the reporting section of the AASM Manual for the Scoring of Sleep and
Associated Events (Berry et al., v2.6 2020 / v3 2023): an index is the number of events
*during sleep* over the total sleep time in hours. An event belongs to the epoch its onset
falls in (the hypnogram's epoch 0 starts with the recording), and counts when that
epoch is N1, N2, N3 or REM. Indices are given overall, by stage (NREM, REM, N1-N3: the
events in those epochs over the time in them) and, when the body position is known, for
supine and non-supine sleep.

Two tables, never mixed: the **scored** one counts the technician's events, imported
ones and the study file's own annotations; the **detector** one counts what PSG Lens's
detectors proposed and no technician has reviewed. A detector event a technician accepts
becomes a technician event and moves to the scored table.

Examples
--------
>>> from app.core.scoring.events import Event, EventSource, EventType
>>> from app.core.scoring.hypnogram import Hypnogram
>>> hyp = Hypnogram.from_labels(["W"] + ["N2"] * 118 + ["REM"] * 1)   # 1 h, 59.5 min asleep
>>> evs = [Event(EventType.OBSTRUCTIVE_APNEA, 60.0 + 60 * k, 15.0) for k in range(10)]
>>> evs += [Event(EventType.HYPOPNEA, 3000.0, 20.0, source=EventSource.DETECTOR)]
>>> ix = event_indices(evs, hyp)
>>> ix.scored.overall["ahi"].count, round(ix.scored.overall["ahi"].value, 1)
(10, 10.1)
>>> ix.detector.overall["ahi"].count
1
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.limb_series import with_plm_series
from app.core.scoring.stages import Stage

SCORED_SOURCES = (EventSource.TECHNICIAN, EventSource.IMPORTED, EventSource.STUDY)
#: AASM PLM rule: an arousal and a PLM are associated when < 0.5 s separate the end of
#: one from the onset of the other, whichever comes first.
PLM_AROUSAL_SEC = 0.5


@dataclass(frozen=True)
class IndexDefinition:
    key: str
    label: str
    text: str


def _d(key: str, label: str, text: str) -> tuple[str, IndexDefinition]:
    return key, IndexDefinition(key, label, text)


DEFINITIONS: dict[str, IndexDefinition] = dict([
    _d("ahi", "Apnea-hypopnea index (AHI)",
       "Apneas (obstructive, central, mixed) plus hypopneas during sleep, per hour of sleep "
       "(AASM: AHI = (apneas + hypopneas) x 60 / TST in minutes)."),
    _d("rdi", "Respiratory disturbance index (RDI)",
       "Apneas, hypopneas and RERAs during sleep, per hour of sleep (AASM)."),
    _d("apnea_index", "Apnea index", "Apneas of any type during sleep, per hour of sleep."),
    _d("central_apnea_index", "Central apnea index",
       "Central apneas during sleep, per hour of sleep (AASM reports it beside the AHI)."),
    _d("hypopnea_index", "Hypopnea index", "Hypopneas during sleep, per hour of sleep."),
    _d("odi3", "Oxygen desaturation index, 3 % (ODI3)",
       "Desaturations of 3 % or more from baseline during sleep, per hour of sleep."),
    _d("odi4", "Oxygen desaturation index, 4 % (ODI4)",
       "Desaturations of 4 % or more from baseline during sleep, per hour of sleep."),
    _d("arousal_index", "Arousal index",
       "Arousals during sleep, per hour of sleep (AASM arousal rule)."),
    _d("plmi", "PLMS index (PLMI)",
       "Limb movements that belong to a PLM series (4 or more, 5-90 s apart) during sleep, "
       "per hour of sleep (AASM)."),
    _d("plms_arousal_index", "PLMS-arousal index",
       "PLMs during sleep associated with an arousal (< 0.5 s between the end of one and the "
       "onset of the other, whichever is first: AASM), per hour of sleep."),
])

_SLEEP = (int(Stage.N1), int(Stage.N2), int(Stage.N3), int(Stage.REM))
STAGE_GROUPS = {"NREM": (int(Stage.N1), int(Stage.N2), int(Stage.N3)), "REM": (int(Stage.REM),),
                "N1": (int(Stage.N1),), "N2": (int(Stage.N2),), "N3": (int(Stage.N3),)}
POSITIONS = ("supine", "prone", "left", "right", "upright")
_POSITION_WORDS = {"supine": "supine", "back": "supine", "prone": "prone", "front": "prone",
                   "stomach": "prone", "left": "left", "right": "right", "upright": "upright",
                   "sitting": "upright", "up": "upright"}


@dataclass(frozen=True)
class IndexValue:
    """``count`` events in ``hours`` of sleep; ``value`` is None without sleep."""

    key: str
    count: int
    hours: float

    @property
    def value(self) -> float | None:
        return self.count / self.hours if self.hours > 0 else None

    def format(self) -> str:
        v = self.value
        return "—" if v is None else f"{v:.1f}/h ({self.count} in {self.hours:.2f} h)"

    def to_dict(self) -> dict:
        v = self.value
        return {"count": self.count, "hours": round(self.hours, 4),
                "per_hour": None if v is None else round(v, 2)}


@dataclass
class IndexTable:
    """The indices of one set of events (``source`` "scored" or "detector")."""

    source: str
    title: str
    overall: dict[str, IndexValue]
    by_stage: dict[str, dict[str, IndexValue]]
    by_position: dict[str, dict[str, IndexValue]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        def block(d: dict[str, IndexValue]) -> dict:
            return {k: v.to_dict() for k, v in d.items()}
        return {"source": self.source, "title": self.title, "overall": block(self.overall),
                "by_stage": {g: block(d) for g, d in self.by_stage.items()},
                "by_position": {g: block(d) for g, d in self.by_position.items()},
                "notes": list(self.notes)}


@dataclass
class EventIndices:
    scored: IndexTable
    detector: IndexTable | None

    def to_dict(self) -> dict:
        return {"scored": self.scored.to_dict(),
                "detector": None if self.detector is None else self.detector.to_dict()}


@dataclass(frozen=True)
class PositionTrack:
    """Body position over time: ``labels[i]`` holds from ``times[i]`` (s) to the next; a
    label outside :data:`POSITIONS` ("unknown") means the position is not known there."""

    times: tuple[float, ...]
    labels: tuple[str, ...]

    def at(self, t: float) -> str | None:
        i = bisect.bisect_right(self.times, t) - 1
        return self.labels[i] if i >= 0 else None


def position_label(text: str) -> str | None:
    """"Body position change to Supine" -> "supine"; None when no position is named.

    >>> position_label("Position: Left"), position_label("Back"), position_label("Snore")
    ('left', 'supine', None)
    """
    words = re.findall(r"[a-z]+", text.lower())
    for w in reversed(words):           # "from supine to left": the last word is the new one
        if w in _POSITION_WORDS:
            return _POSITION_WORDS[w]
    return None


def position_from_events(events: Iterable[Event]) -> PositionTrack | None:
    """The position track that position-change events describe (None without any): the
    new position is ``detail["to"]`` when given, else read from the event's text."""
    changes = sorted((e.onset, position_label(str(e.detail.get("to") or e.text)))
                     for e in events if e.type is EventType.POSITION_CHANGE)
    changes = [(t, p) for t, p in changes if p is not None]
    if not changes:
        return None
    return PositionTrack(tuple(t for t, _ in changes), tuple(p for _, p in changes))


def event_indices(events: Sequence[Event], hypnogram: Hypnogram, *,
                  position: PositionTrack | None = None,
                  detector: bool | None = None) -> EventIndices:
    """The scored table and, when there are detector events (or ``detector`` is True),
    the detector table.

    ``position`` defaults to what the scored position-change events say.
    """
    if position is None:
        position = position_from_events(e for e in events if e.source in SCORED_SOURCES)
    # a lab's or a technician's limb movements make PLM series by the AASM rules
    scored = index_table(with_plm_series([e for e in events if e.source in SCORED_SOURCES]),
                         hypnogram, position=position, source="scored")
    det_events = [e for e in events if e.source is EventSource.DETECTOR]
    want = bool(det_events) if detector is None else detector
    det = index_table(det_events, hypnogram, position=position, source="detector") \
        if want else None
    return EventIndices(scored, det)


def index_table(events: Sequence[Event], hypnogram: Hypnogram, *,
                position: PositionTrack | None = None, source: str = "scored") -> IndexTable:
    """Every index of :data:`DEFINITIONS` for these events (all of them counted)."""
    stages = np.asarray(hypnogram.stages, int)
    ep = hypnogram.epoch_sec
    epoch_of = np.array([int(e.onset // ep) for e in events], int)
    inside = (epoch_of >= 0) & (epoch_of < stages.size)
    stage_of = np.where(inside, stages[np.clip(epoch_of, 0, max(stages.size - 1, 0))], -99) \
        if stages.size else np.full(len(events), -99)
    members = _members(events)
    title = ("technician, imported and study events" if source == "scored" else
             "detector events (decision support, not reviewed by a technician; never part "
             "of the technician's indices)")
    notes = []

    def table(epoch_sel: np.ndarray, event_sel: np.ndarray) -> dict[str, IndexValue]:
        hours = float(epoch_sel.sum()) * ep / 3600.0
        return {k: IndexValue(k, int((members[k] & event_sel).sum()), hours) for k in members}

    asleep_ep = np.isin(stages, _SLEEP)
    asleep_ev = np.isin(stage_of, _SLEEP)
    overall = table(asleep_ep, asleep_ev)
    by_stage = {g: table(np.isin(stages, codes), np.isin(stage_of, codes))
                for g, codes in STAGE_GROUPS.items()}
    by_position: dict[str, dict[str, IndexValue]] = {}
    if position is not None:
        mid = (np.arange(stages.size) + 0.5) * ep
        ep_pos = np.array([position.at(t) or "" for t in mid], object)
        ev_pos = np.array([position.at(e.onset) or "" for e in events], object)
        sup_ep, sup_ev = ep_pos == "supine", ev_pos == "supine"
        known_ep, known_ev = np.isin(ep_pos, POSITIONS), np.isin(ev_pos, POSITIONS)
        by_position = {"supine": table(asleep_ep & sup_ep, asleep_ev & sup_ev),
                       "non-supine": table(asleep_ep & known_ep & ~sup_ep,
                                           asleep_ev & known_ev & ~sup_ev)}
        unknown = float((asleep_ep & ~known_ep).sum()) * ep / 3600.0
        if unknown > 0:
            notes.append(f"The position is unknown for {unknown:.2f} h of sleep; that time "
                         "and its events are in neither position column.")
    no_drop = sum(1 for e in events if e.type is EventType.DESATURATION and _drop(e) is None)
    if no_drop:
        notes.append(f"{no_drop} desaturation(s) carry no drop, so they are counted in "
                     "neither ODI3 nor ODI4.")
    if not asleep_ep.any():
        notes.append("The hypnogram has no sleep epoch: indices per hour of sleep are "
                     "undefined; score the sleep first.")
    return IndexTable(source, title, overall, by_stage, by_position, notes)


def _members(events: Sequence[Event]) -> dict[str, np.ndarray]:
    """For each index, which events it counts."""
    def of(pred: Callable[[Event], bool]) -> np.ndarray:
        return np.array([bool(pred(e)) for e in events], bool)

    arousals = sorted((a.onset, a.end) for a in events if a.type is EventType.AROUSAL)
    return {
        "ahi": of(lambda e: e.type.is_apnea or e.type is EventType.HYPOPNEA),
        "rdi": of(lambda e: e.type.is_respiratory),
        "apnea_index": of(lambda e: e.type.is_apnea),
        "central_apnea_index": of(lambda e: e.type is EventType.CENTRAL_APNEA),
        "hypopnea_index": of(lambda e: e.type is EventType.HYPOPNEA),
        "odi3": of(lambda e: e.type is EventType.DESATURATION and (_drop(e) or 0) >= 3.0),
        "odi4": of(lambda e: e.type is EventType.DESATURATION and (_drop(e) or 0) >= 4.0),
        "arousal_index": of(lambda e: e.type is EventType.AROUSAL),
        "plmi": of(lambda e: e.type is EventType.PLM),
        "plms_arousal_index": of(lambda e: e.type is EventType.PLM
                                 and _associated(e, arousals)),
    }


def _drop(e: Event) -> float | None:
    """The desaturation's fall in percent, from ``detail``: a drop, or baseline - nadir
    (the detectors' keys and the event readers' ``spo2_*`` ones)."""
    d = e.detail

    def first(*keys: str) -> float | None:
        return next((float(d[k]) for k in keys if isinstance(d.get(k), (int, float))), None)

    drop = first("drop_pct", "spo2_drop", "drop")
    if drop is not None:
        return drop
    base, nadir = first("baseline_pct", "spo2_baseline"), first("nadir_pct", "spo2_nadir")
    return None if base is None or nadir is None else base - nadir


def _associated(plm: Event, arousals: list[tuple[float, float]]) -> bool:
    """AASM: < 0.5 s between the end of one and the onset of the other (or overlapping)."""
    i = bisect.bisect_left(arousals, (plm.onset - 3600.0, 0.0))
    for onset, end in arousals[i:]:
        if onset > plm.end + PLM_AROUSAL_SEC:
            break
        if onset - plm.end < PLM_AROUSAL_SEC and plm.onset - end < PLM_AROUSAL_SEC:
            return True
    return False


def index_rows(table: IndexTable) -> tuple[list[str], list[list[str]]]:
    """A table's header and rows for a report: each index per hour of sleep, overall,
    NREM, REM and (when the position is known) supine and non-supine."""
    groups = [("All sleep", table.overall), ("NREM", table.by_stage.get("NREM", {})),
              ("REM", table.by_stage.get("REM", {}))]
    groups += [(name.capitalize(), d) for name, d in table.by_position.items()]
    header = ["Index (events per hour of sleep)", *(g for g, _ in groups)]
    rows = []
    for key, d in DEFINITIONS.items():
        cells = []
        for _, values in groups:
            v = values.get(key)
            cells.append("—" if v is None or v.value is None else f"{v.value:.1f} ({v.count})")
        rows.append([d.label, *cells])
    return header, rows
