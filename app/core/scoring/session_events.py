"""Scored events in the session file: an append-only log, with stages' guarantees.

Every add, change or delete of an event is one row of the ``event_log`` table (who,
when, which event, the event before and after as JSON, reason, kind, batch), committed
with ``synchronous=FULL`` before the call returns; triggers refuse any UPDATE or DELETE
of it. The current events are the log replayed. Event ids are stable integers: a new
event gets the next positive id, which it keeps through changes, deletion and undo.

Events and stages share one undo history: batches are numbered from one counter, so
Ctrl+Z undoes the last thing the technician did, a stage or an event, and undo and redo
are new log rows here too (see :class:`~app.core.scoring.session.ScoringSession`).

The study file's own annotations are a read-only base layer (negative ids, see
:meth:`SessionEventLog.set_study_events`): they are not logged, but changing or deleting
one is, so it can be undone like anything else.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.session import ScoringSession
>>> study = pathlib.Path(tempfile.mkdtemp()) / "night.edf"
>>> _ = study.write_bytes(b"x" * 1000)
>>> with ScoringSession.open(study, n_epochs=10, who="tech-01") as s:
...     [i] = s.add_events([Event(EventType.HYPOPNEA, 60.0, 12.0)], reason="flow -40%")
...     _ = s.change_event(i, duration=15.0)
...     _ = s.undo()
...     s.events()[i].duration
12.0
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from app.core.scoring.events import Event, EventError, EventSource, EventType, check_event
from app.core.scoring.study_identity import EVENTS_SCHEMA_VERSION, utc_now

log = logging.getLogger(__name__)

#: What an event row says happened; "undo" and "redo" rows revert or re-apply a batch.
EVENT_KINDS = ("edit", "detect", "import", "accept", "reject")
_FIELDS = {f.name for f in fields(Event)}


@dataclass(frozen=True)
class EventEdit:
    """One row of the event log. ``old``/``new`` are None where the event did not exist
    before (``op`` "add") or no longer exists after (``op`` "delete")."""

    id: int
    batch: int
    who: str
    when: str
    event_id: int
    op: str
    old: Event | None
    new: Event | None
    reason: str
    kind: str
    ref: int | None = None


def _op(old: Event | None, new: Event | None) -> str:
    return "add" if old is None else "delete" if new is None else "change"


def _json(ev: Event | None) -> str | None:
    if ev is None:
        return None
    try:
        return json.dumps(ev.to_dict(), ensure_ascii=False)
    except (TypeError, ValueError) as err:  # a detail a detector filled with an array
        raise EventError(f"The {ev.type.label.lower()} at {ev.onset:g} s cannot be saved: "
                         f"its detail holds a value JSON cannot store ({err}).") from None


def _same(a: Event | None, b: Event | None) -> bool:
    return a == b and (a is None or a.detail == b.detail)


class SessionEventLog:
    """The event half of :class:`~app.core.scoring.session.ScoringSession` (a mixin: it
    uses the session's transaction, mutex, batch counter and undo stacks)."""

    # -- state, rebuilt from the log --------------------------------------------------
    def _replay_events(self) -> list[tuple[int, str, int | None]]:
        """Current events from the log; returns (batch, kind, ref) per event batch."""
        self._study_events: dict[int, Event] = getattr(self, "_study_events", {})
        self._logged: dict[int, Event | None] = {}  # latest state of each logged id
        self._event_batches: set[int] = set()
        self._next_event_id = 1
        exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                  "name = 'event_log'").fetchone()
        if not exists:  # a format-1 file opened read-only: it has no events yet
            return []
        for event_id, new in self._db.execute("SELECT event, new FROM event_log ORDER BY id"):
            self._logged[int(event_id)] = self._stored_event(new)
        top = self._db.execute("SELECT MAX(event) FROM event_log").fetchone()[0]
        self._next_event_id = max(1, int(top or 0) + 1)
        steps = [(int(b), k, r) for b, k, r in self._db.execute(
            "SELECT batch, kind, ref FROM event_log GROUP BY batch ORDER BY batch")]
        self._event_batches = {b for b, _, _ in steps}
        return steps

    def _stored_event(self, text: str | None) -> Event | None:
        if text is None:
            return None
        try:
            return Event.from_dict(json.loads(text))
        except (ValueError, TypeError, EventError):  # a damaged row costs only its event
            log.warning("session %s: an event row cannot be read; that event is left out",
                        self._path)
            return None

    def _current(self, event_id: int) -> Event | None:
        if event_id in self._logged:
            return self._logged[event_id]
        return self._study_events.get(event_id)

    def events(self) -> dict[int, Event]:
        """The current events by id: the study's own annotations (negative ids) as the
        technician left them, and every event added to this session.

        Examples
        --------
        >>> {i: e.type.label for i, e in session.events().items()}  # doctest: +SKIP
        {-1: 'Other', 1: 'Obstructive apnea'}
        """
        with self._mutex:
            out = {i: e for i, e in self._study_events.items() if i not in self._logged}
            out.update((i, e) for i, e in self._logged.items() if e is not None)
            return dict(sorted(out.items()))

    def set_study_events(self, events: Sequence[Event]) -> list[int]:
        """Show the study file's own annotations as events -1, -2, ... (in file order).

        They are never written to the log (the study file keeps them); a change or
        deletion of one is, and it wins over the file from then on.

        Examples
        --------
        >>> session.set_study_events([Event(EventType.AROUSAL, 30.0, 5.0,
        ...                                 source=EventSource.STUDY)])  # doctest: +SKIP
        [-1]
        """
        with self._mutex:
            self._study_events = {-(i + 1): ev for i, ev in enumerate(events)}
            ids = list(self._study_events)
        self._emit("events", {"ids": ids, "kind": "study", "who": "", "changes": {}})
        return ids

    def event_edits(self, since_id: int = 0) -> list[EventEdit]:
        """The event log in order (rows with id > ``since_id``).

        Examples
        --------
        >>> [(e.event_id, e.op, e.who) for e in session.event_edits()]  # doctest: +SKIP
        [(1, 'add', 'tech-01'), (1, 'change', 'tech-02')]
        """
        if not self._has_event_table():
            return []
        return [EventEdit(i, b, w, at, e, op, self._stored_event(o), self._stored_event(n),
                          r, k, ref)
                for i, b, w, at, e, op, o, n, r, k, ref in self._query(
                    "SELECT id, batch, who, at, event, op, old, new, reason, kind, ref "
                    "FROM event_log WHERE id > ? ORDER BY id", (since_id,))]

    def _has_event_table(self) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'event_log'"))

    # -- writing ----------------------------------------------------------------------
    def _write_events(self, changes: list[tuple[int, Event | None]], who: str, reason: str,
                      kind: str, ref: int | None = None) -> list[int]:
        """Log (event id, new state or None) changes as one batch; skip no-ops."""
        with self._mutex:
            state = dict(self._logged)
            rows, done, at, batch = [], {}, utc_now(), self._next_batch
            for event_id, new in changes:
                old = state[event_id] if event_id in state else \
                    self._study_events.get(event_id)
                if _same(old, new):
                    continue
                rows.append((batch, who, at, event_id, _op(old, new), _json(old), _json(new),
                             reason, kind, ref))
                state[event_id] = new
                done[event_id] = (old, new)
            if rows:
                with self._tx() as db:
                    db.executemany("INSERT INTO event_log (batch, who, at, event, op, old, new,"
                                   " reason, kind, ref) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                    if self._schema_version < EVENTS_SCHEMA_VERSION:  # see study_identity
                        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                                   (str(EVENTS_SCHEMA_VERSION),))
                self._schema_version = max(self._schema_version, EVENTS_SCHEMA_VERSION)
                self._logged, self._next_batch = state, batch + 1
                self._next_event_id = max([self._next_event_id,
                                           *(i + 1 for i in done if i > 0)])
                self._event_batches.add(batch)
            if rows or ref is not None:
                self._apply_stack(batch, kind, ref)
        if done:
            self._emit("events", {"ids": list(done), "kind": kind, "who": who,
                                  "changes": done})
        return list(done)

    def _who(self, who: str | None) -> str:
        return who or self.who

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in EVENT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}")
        return kind

    def add_events(self, events: Iterable[Event], *, reason: str = "", who: str | None = None,
                   kind: str = "edit") -> list[int]:
        """Add events in one transaction and one undo step; returns their new ids.

        Each event's own times are checked (finite, not negative, confidence 0-1); the
        workspace checks them against the recording before it calls this.

        Examples
        --------
        >>> session.add_events([Event(EventType.AROUSAL, 301.5, 4.0)],
        ...                    reason="alpha intrusion")  # doctest: +SKIP
        [1]
        """
        kind = self._kind(kind)
        events = [self._checked(ev) for ev in events]
        with self._mutex:
            first = self._next_event_id
            ids = list(range(first, first + len(events)))
            return self._write_events(list(zip(ids, events, strict=True)), self._who(who),
                                      reason, kind)

    @staticmethod
    def _checked(ev: object) -> Event:
        if not isinstance(ev, Event):
            raise EventError(f"{type(ev).__name__} is not an event; only scored events "
                             "(type, onset, duration, ...) can be added.")
        return check_event(ev, recording_sec=math.inf)

    def _existing(self, event_id: int) -> Event:
        ev = self._current(int(event_id))
        if ev is None:
            raise EventError(f"There is no event {event_id} in this study (it may have been "
                             "deleted or undone already); refresh the event list.")
        return ev

    def delete_events(self, ids: Iterable[int], *, reason: str = "", who: str | None = None,
                      kind: str = "edit") -> list[int]:
        """Delete events (one undo step); an id that does not exist is an EventError and
        nothing is deleted. Returns the ids deleted.

        Examples
        --------
        >>> session.delete_events([3], reason="cardiac artefact")  # doctest: +SKIP
        [3]
        """
        kind = self._kind(kind)
        with self._mutex:
            ids = list(dict.fromkeys(int(i) for i in ids))
            for i in ids:
                self._existing(i)
            return self._write_events([(i, None) for i in ids], self._who(who), reason, kind)

    def change_event(self, event_id: int, *, reason: str = "", who: str | None = None,
                     kind: str = "edit", **fields: object) -> Event:
        """Change fields of one event (``onset=``, ``type=``, ...); returns it as changed.

        Examples
        --------
        >>> session.change_event(3, duration=18.0, reason="flow recovers later")  # doctest: +SKIP
        Event(type=<EventType.HYPOPNEA: 'hypopnea'>, onset=60.0, duration=18.0, ...)
        """
        self.change_events({event_id: fields}, reason=reason, who=who, kind=kind)
        return self._existing(int(event_id))

    def change_events(self, changes: Mapping[int, Mapping[str, object]], *, reason: str = "",
                      who: str | None = None, kind: str = "edit") -> list[int]:
        """Change several events in one transaction and one undo step (e.g. accepting a
        detector's events); returns the ids that changed.

        Examples
        --------
        >>> session.change_events({4: {"source": "technician"}, 5: {"source": "technician"}},
        ...                       kind="accept")  # doctest: +SKIP
        [4, 5]
        """
        kind = self._kind(kind)
        with self._mutex:
            rows = [(int(i), self._checked(changed_event(self._existing(int(i)), f)))
                    for i, f in changes.items()]
            return self._write_events(rows, self._who(who), reason, kind)

    # -- undo and redo of an event batch ------------------------------------------------
    def _event_rows(self, batch: int) -> list[tuple[int, Event | None, Event | None]]:
        return [(int(e), self._stored_event(o), self._stored_event(n)) for e, o, n in
                self._query("SELECT event, old, new FROM event_log WHERE batch = ? "
                            "ORDER BY id", (batch,))]

    def _undo_events(self, ref: int, who: str) -> list[int]:
        rows = reversed(self._event_rows(ref))
        return self._write_events([(e, old) for e, old, _ in rows], who, "", "undo", ref)

    def _redo_events(self, ref: int, who: str) -> list[int]:
        return self._write_events([(e, new) for e, _, new in self._event_rows(ref)], who, "",
                                  "redo", ref)


def changed_event(ev: Event, changes: Mapping[str, object]) -> Event:
    """``ev`` with ``changes`` applied; names and values are checked, so a wrong field is
    an :class:`EventError` sentence rather than a TypeError deep in a callback.

    Examples
    --------
    >>> ev = Event(EventType.AROUSAL, 10.0, 3.0)
    >>> changed_event(ev, {"type": "rera", "channels": ["C4-M1"]}).type
    <EventType.RERA: 'rera'>
    """
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise EventError(f"An event has no field {', '.join(unknown)}; it has "
                         f"{', '.join(sorted(_FIELDS))}.")
    values = dict(changes)
    try:
        if "type" in values:
            values["type"] = EventType(values["type"])
        if "source" in values:
            values["source"] = EventSource(values["source"])
        for key in ("onset", "duration"):
            if key in values:
                values[key] = float(values[key])  # type: ignore[arg-type]
        if values.get("confidence") is not None:
            values["confidence"] = float(values["confidence"])  # type: ignore[arg-type]
        if "channels" in values:
            chans = values["channels"]
            values["channels"] = (chans,) if isinstance(chans, str) else \
                tuple(str(c) for c in chans)  # type: ignore[union-attr]
        if "detail" in values:
            values["detail"] = dict(values["detail"] or {})  # type: ignore[call-overload]
    except (TypeError, ValueError) as err:
        raise EventError(f"The {ev.type.label.lower()} at {ev.onset:g} s cannot take "
                         f"these values ({err}).") from None
    return ev.replace(**values)
