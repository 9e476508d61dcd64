"""Scored events: apneas, hypopneas, RERAs, desaturations, arousals, limb movements.

An :class:`Event` is what a technician marks on the traces (or a detector proposes, or a
file brings): a type from the AASM scoring manual, onset and duration in seconds from
the recording's start, the channels it was marked on, where it came from (technician,
detector, imported), who scored it and, for detectors, how sure they were. Types are
the AASM 3 events plus position change and artefact; a name PSG Lens does not know is
kept as ``OTHER`` with its original text, never dropped.

Examples
--------
>>> ev = Event(EventType.OBSTRUCTIVE_APNEA, onset=120.0, duration=14.5,
...            channels=("Flow",), source=EventSource.TECHNICIAN, scorer="tech-01")
>>> ev.end, ev.type.label, ev.type.is_respiratory
(134.5, 'Obstructive apnea', True)
>>> check_event(ev, recording_sec=3600.0, channel_names=["Flow", "SpO2"]) is ev
True
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Sequence

from app.errors import PSGLensError


class EventError(PSGLensError, ValueError):
    """An event that cannot be kept as it is (outside the recording, negative length...)."""


class EventType(str, enum.Enum):
    """Event types (AASM Manual v3 plus position change and artefact)."""

    OBSTRUCTIVE_APNEA = "obstructive_apnea"
    CENTRAL_APNEA = "central_apnea"
    MIXED_APNEA = "mixed_apnea"
    APNEA = "apnea"                  # scored as an apnea, its kind not given (NSRR "Apnea")
    HYPOPNEA = "hypopnea"
    RERA = "rera"
    DESATURATION = "desaturation"
    AROUSAL = "arousal"
    LIMB_MOVEMENT = "limb_movement"
    PLM = "plm"                      # a limb movement that belongs to a PLM series
    POSITION_CHANGE = "position_change"
    ARTIFACT = "artifact"
    OTHER = "other"                  # a name PSG Lens does not know: kept with its text

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_apnea(self) -> bool:
        return self in (EventType.OBSTRUCTIVE_APNEA, EventType.CENTRAL_APNEA,
                        EventType.MIXED_APNEA, EventType.APNEA)

    @property
    def is_respiratory(self) -> bool:
        """Counted in the AHI (apneas, hypopneas) or the RDI (also RERAs)."""
        return self.is_apnea or self in (EventType.HYPOPNEA, EventType.RERA)

    @property
    def is_limb(self) -> bool:
        return self in (EventType.LIMB_MOVEMENT, EventType.PLM)


_LABELS = {
    EventType.OBSTRUCTIVE_APNEA: "Obstructive apnea", EventType.CENTRAL_APNEA: "Central apnea",
    EventType.MIXED_APNEA: "Mixed apnea", EventType.APNEA: "Apnea (unclassified)",
    EventType.HYPOPNEA: "Hypopnea",
    EventType.RERA: "RERA", EventType.DESATURATION: "Desaturation",
    EventType.AROUSAL: "Arousal", EventType.LIMB_MOVEMENT: "Limb movement",
    EventType.PLM: "Periodic limb movement", EventType.POSITION_CHANGE: "Position change",
    EventType.ARTIFACT: "Artifact", EventType.OTHER: "Other",
}


class EventSource(str, enum.Enum):
    """Who put an event there. Indices count technician (and imported) events; detector
    events are decision support until a technician accepts them."""

    TECHNICIAN = "technician"
    DETECTOR = "detector"
    IMPORTED = "imported"
    STUDY = "study"          # the study file's own EDF+ annotations


@dataclasses.dataclass(frozen=True)
class Event:
    """One scored event. ``onset``/``duration`` in seconds from the recording's start."""

    type: EventType
    onset: float
    duration: float
    channels: tuple[str, ...] = ()
    source: EventSource = EventSource.TECHNICIAN
    scorer: str = ""
    confidence: float | None = None   # detectors: 0-1; people: None
    text: str = ""                    # the original name (OTHER), or a note
    detail: dict = dataclasses.field(default_factory=dict, compare=False)  # e.g. nadir SpO2

    @property
    def end(self) -> float:
        return self.onset + self.duration

    def overlaps(self, other: Event | tuple[float, float]) -> bool:
        lo, hi = (other.onset, other.end) if isinstance(other, Event) else other
        return self.onset < hi and lo < self.end

    def replace(self, **changes) -> Event:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = {"type": self.type.value, "onset": self.onset, "duration": self.duration,
             "channels": list(self.channels), "source": self.source.value,
             "scorer": self.scorer, "confidence": self.confidence, "text": self.text}
        if self.detail:
            d["detail"] = dict(self.detail)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Event:
        """The inverse of :meth:`to_dict`; a wrong value is an :class:`EventError`."""
        try:
            conf = d.get("confidence")
            return cls(EventType(d["type"]), float(d["onset"]), float(d["duration"]),
                       tuple(str(c) for c in d.get("channels", ())),
                       EventSource(d.get("source", "technician")), str(d.get("scorer", "")),
                       None if conf is None else float(conf), str(d.get("text", "")),
                       dict(d.get("detail") or {}))
        except (KeyError, TypeError, ValueError) as err:
            raise EventError(f"A stored event cannot be read ({err!s}): {d!r:.120}") from None


def check_event(ev: Event, *, recording_sec: float,
                channel_names: Sequence[str] | None = None) -> Event:
    """``ev`` if it can be kept for a recording of ``recording_sec`` seconds with these
    channels; otherwise an :class:`EventError` sentence naming what is wrong."""
    # an OTHER event is named by its own text: "The event 'Lights off' at 0:00:00"
    named = f"event {ev.text!r}" if ev.type is EventType.OTHER and ev.text else \
        ev.type.label.lower()
    what = f"The {named} at {_clock(ev.onset)}"
    if not (math.isfinite(ev.onset) and math.isfinite(ev.duration)):
        raise EventError(f"{what} has no valid time (onset {ev.onset}, duration "
                         f"{ev.duration}).")
    if ev.duration < 0:
        raise EventError(f"{what} has a negative length ({ev.duration:g} s); an event ends "
                         "after it starts.")
    if ev.onset < 0 or ev.end > recording_sec + 1e-6:
        raise EventError(f"{what} (to {_clock(ev.end)}) lies outside the recording, which "
                         f"lasts {_clock(recording_sec)}.")
    if ev.confidence is not None and not 0.0 <= ev.confidence <= 1.0:
        raise EventError(f"{what} has a confidence of {ev.confidence:g}; it must be 0-1.")
    if channel_names is not None:
        missing = [c for c in ev.channels if c not in set(channel_names)]
        if missing:
            raise EventError(f"{what} is marked on {', '.join(missing)}, which this study "
                             "does not have.")
    return ev


def sort_events(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.onset, e.duration, e.type.value))


def _clock(sec: float) -> str:
    """Seconds from the start as h:mm:ss (what a technician reads on the time axis)."""
    if not math.isfinite(sec):
        return str(sec)
    sign = "-" if sec < 0 else ""
    s = int(round(abs(sec)))
    return f"{sign}{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
