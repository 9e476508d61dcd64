"""The scored-event half of the workspace: mark, change, delete, review and import events
for the open study, each checked against the recording and on disk before it returns.

:class:`~app.core.workspace.Workspace` inherits :class:`EventReview`; it supplies
``session``, ``recording``, ``events`` (its emitters, ``scored_events`` among them),
``notes``, ``scorer``, ``epoch_sec`` and ``set_epoch``. Events are ``(id, Event)``
pairs: ids are the session's stable integers, negative for the study file's own EDF+
annotations, which are shown as read-only ``STUDY`` events and written to the session
only when the technician changes or deletes one (the changed copy is then a technician
event). A detector's events are proposals: accepting one makes it the accepting
technician's event, rejecting one deletes it; both are logged and can be undone.
Importing events never touches the stages.

Examples
--------
>>> ws = Workspace.open("night.edf", who="tech-01")                   # doctest: +SKIP
>>> i = ws.add_event(Event(EventType.AROUSAL, 301.5, 4.0, ("C4-M1",)))  # doctest: +SKIP
>>> ws.events_list[0]                                                  # doctest: +SKIP
(1, Event(type=<EventType.AROUSAL: 'arousal'>, onset=301.5, ...))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from app.core.scoring.events import (
    Event,
    EventError,
    EventSource,
    check_event,
)
from app.errors import PSGLensError

__all__ = ["EventReview"]


def _order(pair: tuple[int, Event]) -> tuple:
    i, ev = pair
    return ev.onset, ev.duration, ev.type.value, i


class EventReview:
    """Scored events of the open study (a mixin of the workspace; see the module)."""

    # -- loading ----------------------------------------------------------------------
    def _load_study_events(self) -> None:
        """Show the study's own annotations (never stages) as read-only study events."""
        from app.core.formats.event_files import events_from_annotations

        try:
            annotations = self.recording.annotations()
        except PSGLensError as err:  # a damaged annotation channel costs only the events
            self.notes.append(f"The study's annotations could not be read ({err}); its "
                              "own events are not shown.")
            annotations = []
        kept, refused = [], []
        for found in events_from_annotations(annotations, source=EventSource.STUDY):
            try:
                kept.append(check_event(found.event, recording_sec=self.recording.duration_sec))
            except EventError as err:
                refused.append(f"{found.where}: {err}")
        if refused:
            self.notes.append(f"{len(refused)} of the study's own annotations are not shown "
                              f"as events; the first: {refused[0]}")
        self.study_events: tuple[Event, ...] = tuple(kept)
        self.session.set_study_events(kept)
        self._last_event_change: dict = {}

    def _on_events_change(self, payload: dict) -> None:
        self._last_event_change = payload
        self.events.scored_events(ids=list(payload["ids"]), kind=payload["kind"],
                                  who=payload["who"])

    # -- reading ----------------------------------------------------------------------
    @property
    def scored_events(self) -> dict[int, Event]:
        """The study's events by id (technician, detector, imported and study ones).

        Examples
        --------
        >>> sorted(ws.scored_events)  # doctest: +SKIP
        [-2, -1, 1, 2]
        """
        return self.session.events()

    @property
    def events_list(self) -> list[tuple[int, Event]]:
        """(id, event) pairs sorted by onset (then length, type, id).

        Examples
        --------
        >>> [(i, e.type.label) for i, e in ws.events_list][:2]  # doctest: +SKIP
        [(-1, 'Other'), (3, 'Hypopnea')]
        """
        return sorted(self.session.events().items(), key=_order)

    def events_in(self, t0: float, t1: float) -> list[tuple[int, Event]]:
        """The (id, event) pairs that overlap [t0, t1) seconds (a zero-length marker at
        t0 counts), sorted by onset.

        Examples
        --------
        >>> ws.events_in(*ws.visible_span())  # doctest: +SKIP
        [(3, Event(type=<EventType.HYPOPNEA: 'hypopnea'>, ...))]
        """
        return [(i, e) for i, e in self.events_list
                if e.overlaps((t0, t1)) or (e.duration == 0 and t0 <= e.onset < t1)]

    def event(self, event_id: int) -> Event:
        """One event by id; an id that is gone is an :class:`EventError` sentence.

        Examples
        --------
        >>> ws.event(-1).text  # doctest: +SKIP
        'Lights off'
        """
        found = self.session.events().get(int(event_id))
        if found is None:
            raise EventError(f"There is no event {event_id} in this study (it may have been "
                             "deleted or undone already); refresh the event list.")
        return found

    # -- scoring ----------------------------------------------------------------------
    def _checked(self, ev: Event) -> Event:
        return check_event(ev, recording_sec=self.recording.duration_sec,
                           channel_names=self.recording.ch_names)

    def _own(self, ev: Event) -> Event:
        """A technician event names its scorer; others keep theirs."""
        if ev.source is EventSource.TECHNICIAN and not ev.scorer:
            return ev.replace(scorer=self.scorer)
        return ev

    def add_event(self, ev: Event, *, reason: str = "") -> int:
        """Add one event (checked against the recording's length and channels); returns
        its id. On disk before this returns; one undo step.

        Examples
        --------
        >>> ws.add_event(Event(EventType.OBSTRUCTIVE_APNEA, 62.0, 14.5, ("Flow",)),
        ...              reason="no flow, effort kept")  # doctest: +SKIP
        4
        """
        return self.add_events([ev], reason=reason)[0]

    def add_events(self, events: Iterable[Event], *, reason: str = "",
                   kind: str | None = None) -> list[int]:
        """Add events in one undo step (a detector's run: ``kind="detect"``, the default
        when every event is a detector's); one bad event and none is added."""
        checked = [self._own(self._checked(ev)) for ev in events]
        if kind is None:
            kind = "detect" if checked and all(e.source is EventSource.DETECTOR
                                               for e in checked) else "edit"
        return self.session.add_events(checked, reason=reason, kind=kind)

    def delete_event(self, event_id: int, *, reason: str = "") -> None:
        """Delete one event (a study annotation too: it is hidden, the file keeps it)."""
        self.delete_events([event_id], reason=reason)

    def delete_events(self, ids: Iterable[int], *, reason: str = "") -> list[int]:
        """Delete several events in one undo step; returns the ids deleted.

        Examples
        --------
        >>> ws.delete_events([4, 5], reason="cardiac artefact")  # doctest: +SKIP
        [4, 5]
        """
        return self.session.delete_events(ids, reason=reason)

    def change_event(self, event_id: int, *, reason: str = "", **fields: object) -> Event:
        """Change an event's fields (``onset=``, ``duration=``, ``type=``, ...); a study
        annotation changed becomes the technician's event. Returns the event as changed.

        Examples
        --------
        >>> ws.change_event(4, duration=18.0, reason="flow recovers later")  # doctest: +SKIP
        Event(type=<EventType.OBSTRUCTIVE_APNEA: 'obstructive_apnea'>, ...)
        """
        from app.core.scoring.session_events import changed_event

        old = self.event(event_id)
        if old.source is EventSource.STUDY:
            fields = {"source": EventSource.TECHNICIAN, "scorer": self.scorer, **fields}
        new = self._checked(changed_event(old, fields))
        self.session.change_events({int(event_id): _fields(new)}, reason=reason)
        return self.event(event_id)

    # -- reviewing a detector's proposals ---------------------------------------------
    def _detected(self, ids: Iterable[int]) -> dict[int, Event]:
        out = {}
        for i in dict.fromkeys(int(i) for i in ids):
            ev = self.event(i)
            if ev.source is not EventSource.DETECTOR:
                raise EventError(f"Event {i} (the {ev.type.label.lower()} at {ev.onset:g} s) "
                                 f"is a {ev.source.value} event, not a detector's proposal; "
                                 "only detector events are accepted or rejected.")
            out[i] = ev
        return out

    def accept_detected(self, ids: Iterable[int], *, reason: str = "") -> list[int]:
        """Make detector events the technician's (scorer: who accepts; the detector and
        its confidence stay in ``detail``), in one undo step. Returns the ids accepted.

        Examples
        --------
        >>> ws.accept_detected([7, 8])  # doctest: +SKIP
        [7, 8]
        """
        changes = {i: {"source": EventSource.TECHNICIAN, "scorer": self.scorer,
                       "confidence": None,
                       "detail": {**ev.detail, "detector": ev.scorer,
                                  "detector_confidence": ev.confidence}}
                   for i, ev in self._detected(ids).items()}
        return self.session.change_events(changes, reason=reason, kind="accept")

    def reject_detected(self, ids: Iterable[int], *, reason: str = "") -> list[int]:
        """Delete detector events the technician does not keep, in one undo step.

        Examples
        --------
        >>> ws.reject_detected([9], reason="movement, not an arousal")  # doctest: +SKIP
        [9]
        """
        return self.session.delete_events(list(self._detected(ids)), reason=reason,
                                          kind="reject")

    # -- files --------------------------------------------------------------------------
    def import_events(self, path: str | os.PathLike, format: str | None = None, *,
                      reason: str = "") -> list[int]:
        """Add the events of a file (checked against this recording) in one undo step;
        they become IMPORTED (a detector's stay proposals). Stages are never touched.

        Examples
        --------
        >>> ws.import_events("shhs1-200001-nsrr.xml")  # doctest: +SKIP
        [5, 6, 7]
        """
        from app.core.formats.event_files import read_events

        events = read_events(path, format, recording_sec=self.recording.duration_sec,
                             channel_names=self.recording.ch_names)
        if not events:
            self.events.message(text=f"{os.path.basename(path)} holds no scored events.")
            return []
        keep = [ev if ev.source is EventSource.DETECTOR else
                ev.replace(source=EventSource.IMPORTED) for ev in events]
        return self.session.add_events(keep, reason=reason or f"imported from "
                                       f"{os.path.basename(path)}", kind="import")

    def export_events(self, path: str | os.PathLike, format: str | None = None, *,
                      sources: Sequence[EventSource] | None = None) -> int:
        """Write the study's events (or those of ``sources``) to a file; returns how many.

        Examples
        --------
        >>> ws.export_events("night_events.tsv", sources=[EventSource.TECHNICIAN])  # doctest: +SKIP
        42
        """
        from app.core.formats.event_files import write_events

        chosen = [e for _, e in self.events_list if sources is None or e.source in sources]
        write_events(chosen, path, format)
        return len(chosen)

    def staging_for_events(self):
        """The stages detection and event indices are measured against: the
        technician's, and the active run's where the technician has not scored yet."""
        from app.core.scoring.hypnogram import Hypnogram

        tech = self.technician
        stages = tech.stages.copy()
        run = self.active_run
        if run is not None:
            fill = (stages < 0) & (run.hypnogram.stages >= 0)
            stages[fill] = run.hypnogram.stages[fill]
        return Hypnogram(stages, epoch_sec=tech.epoch_sec, start_time=tech.start_time,
                         scorer=tech.scorer)

    def event_indices(self):
        """AHI, ODI, PLMI, arousal index... of this study's events against
        :meth:`staging_for_events` (technician's and detector's apart)."""
        from app.core.detectors.desaturation import spo2_series, with_measured_drops
        from app.core.scoring.event_indices import event_indices

        # a lab's desaturation marks rarely carry their drop: measured on the SpO2 trace
        # (read once per open study: the list recomputes the indices on every edit)
        events = [e for _, e in self.events_list]
        if any(e.type.value == "desaturation" and "drop_pct" not in e.detail
               for e in events):
            if not hasattr(self, "_spo2_1hz"):
                self._spo2_1hz = spo2_series(self.recording)
            events = with_measured_drops(self.recording, events, spo2=self._spo2_1hz)
        return event_indices(events, self.staging_for_events())

    def _event_epoch(self) -> int | None:
        """The epoch of the first event the last change touched (undo and redo go there)."""
        for old, new in (self._last_event_change.get("changes") or {}).values():
            ev = new if new is not None else old
            if ev is not None:
                return int(ev.onset // self.epoch_sec)
        return None


def _fields(ev: Event) -> dict[str, object]:
    return {"type": ev.type, "onset": ev.onset, "duration": ev.duration,
            "channels": ev.channels, "source": ev.source, "scorer": ev.scorer,
            "confidence": ev.confidence, "text": ev.text, "detail": dict(ev.detail)}
