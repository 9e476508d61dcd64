"""Lights off and lights on: the recording period the statistics cover.

The two marks are scored events (type ``OTHER``, text ``Lights off`` / ``Lights on``,
no duration), the way EDF+ files carry them. So they have every guarantee an edit has:
:meth:`LightsReview.set_lights` writes them to the session's event log before it returns,
who and when are logged, Ctrl+Z takes them back (one history with stages and events),
and event exports carry them. The study file's own ``Lights off`` / ``Lights on``
annotations (the synthetic studies write them) are the default until the technician
sets the lights; setting one changes that annotation's mark, which becomes the
technician's.

Which mark counts: the technician's over an imported one over the study's; among the
study's, the first lights off and the last lights on. Epochs: lights off is the first
epoch of the recording period (the epoch that holds the mark), lights on the first
epoch after it (0-based, exclusive, as :func:`~app.core.scoring.stats.sleep_statistics`
takes them; a mark inside an epoch ends the period after that epoch). Marks that do
not make a period (lights on before lights off, outside the recording) count for
nothing, and :attr:`Lights.note` says why.

Examples
--------
>>> from app.core.scoring.events import Event, EventSource, EventType
>>> marks = {-1: Event(EventType.OTHER, 60.0, 0.0, source=EventSource.STUDY, text="Lights off"),
...          -2: Event(EventType.OTHER, 280.0, 0.0, source=EventSource.STUDY, text="Lights on")}
>>> lights_from_events(marks, epoch_sec=30.0, n_epochs=10)
Lights(off_epoch=2, on_epoch=10, off_id=-1, on_id=-2, note='')
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.scoring.events import Event, EventError, EventSource, EventType

if TYPE_CHECKING:
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.scoring.stats import SleepStatistics

__all__ = ["KEEP", "LIGHTS_OFF", "LIGHTS_ON", "Lights", "LightsReview", "lights_kind",
           "lights_from_events"]

LIGHTS_OFF, LIGHTS_ON = "Lights off", "Lights on"
KEEP = object()  # set_lights: leave this mark as it is
_OFF_NAMES = {"lightsoff", "lightsout", "lightoff", "lightout"}
_ON_NAMES = {"lightson", "lighton"}
_RANK = {EventSource.TECHNICIAN: 0, EventSource.IMPORTED: 1, EventSource.STUDY: 2}


def lights_kind(ev: Event) -> str | None:
    """``"off"``, ``"on"`` or None: whether an event is a lights mark ("Lights off",
    "LIGHTS OUT", "lights_on"...). A detector's proposals never are.

    Examples
    --------
    >>> lights_kind(Event(EventType.OTHER, 0.0, 0.0, text="LIGHTS OUT"))
    'off'
    """
    if ev.type is not EventType.OTHER or ev.source not in _RANK:
        return None
    name = re.sub(r"[^a-z]", "", ev.text.lower())
    return "off" if name in _OFF_NAMES else "on" if name in _ON_NAMES else None


@dataclass(frozen=True)
class Lights:
    """The recording period: ``off_epoch`` (first epoch in it) to ``on_epoch`` (first
    after it), 0-based; None where no mark is set (the recording's start or end).
    ``off_id``/``on_id`` are the marks' event ids; ``note`` says why marks were ignored."""

    off_epoch: int | None = None
    on_epoch: int | None = None
    off_id: int | None = None
    on_id: int | None = None
    note: str = ""

    def period(self, n_epochs: int) -> tuple[int, int]:
        """[off, on) in epochs, the recording's ends where no mark is set."""
        return (0 if self.off_epoch is None else self.off_epoch,
                n_epochs if self.on_epoch is None else self.on_epoch)

    def statistics_kwargs(self) -> dict[str, int | None]:
        """``lights_off_epoch``/``lights_on_epoch`` for ``sleep_statistics`` and the report."""
        return {"lights_off_epoch": self.off_epoch, "lights_on_epoch": self.on_epoch}


def _chosen(events: Mapping[int, Event], kind: str) -> tuple[int, Event] | None:
    marks = [(i, e) for i, e in events.items() if lights_kind(e) == kind]
    if not marks:
        return None
    sign = 1 if kind == "off" else -1  # the first lights off, the last lights on
    return min(marks, key=lambda p: (_RANK[p[1].source], sign * p[1].onset, p[0]))


def _marks(events: Mapping[int, Event], epoch_sec: float, n_epochs: int
           ) -> tuple[int | None, int | None, int | None, int | None]:
    """(off epoch, on epoch, off id, on id) of the marks that count, unchecked."""
    off, on = _chosen(events, "off"), _chosen(events, "on")
    off_epoch = None if off is None else math.floor(off[1].onset / epoch_sec + 1e-9)
    on_epoch = None if on is None else min(math.ceil(on[1].onset / epoch_sec - 1e-9), n_epochs)
    return off_epoch, on_epoch, off and off[0], on and on[0]


def lights_from_events(events: Mapping[int, Event], *, epoch_sec: float,
                       n_epochs: int) -> Lights:
    """The lights marks among ``events`` (id -> Event) as a :class:`Lights`."""
    off_epoch, on_epoch, off_id, on_id = _marks(events, epoch_sec, n_epochs)
    problem = _problem(off_epoch, on_epoch, n_epochs)
    if problem:
        return Lights(note=f"The lights marks are not used ({problem}); the statistics cover "
                           "the whole recording until the lights are set again.")
    return Lights(off_epoch, on_epoch, off_id, on_id)


def _problem(off: int | None, on: int | None, n: int) -> str:
    if off is not None and not 0 <= off < n:
        return f"lights off lies outside the recording's {n} epochs"
    if on is not None and not 0 < on <= n:
        return f"lights on lies outside the recording's {n} epochs"
    if off is not None and on is not None and on <= off:
        return "lights on comes before lights off"
    return ""


class LightsReview:
    """Lights off and on of the open study (a mixin of the workspace; it uses
    ``session``, ``recording``, ``events``, ``n_epochs``, ``epoch_sec``, ``scorer`` and
    ``technician``, and :class:`~app.core.scoring.event_review.EventReview`'s
    ``_on_events_change``)."""

    @property
    def lights(self) -> Lights:
        """Lights off and on as the statistics and the report use them.

        Examples
        --------
        >>> ws.lights  # doctest: +SKIP
        Lights(off_epoch=0, on_epoch=960, off_id=-1, on_id=-2, note='')
        """
        return lights_from_events(self.session.events(), epoch_sec=self.epoch_sec,
                                  n_epochs=self.n_epochs)

    def set_lights(self, *, off_epoch: object = KEEP, on_epoch: object = KEEP,
                   reason: str = "") -> Lights:
        """Set lights off and/or on (0-based epochs; lights on is the first epoch after
        the period); None removes a mark (the recording's start or end counts again).

        Both marks change in one logged, undoable step, on disk before this returns;
        stages are never touched. Bad input is an :class:`EventError` sentence and
        changes nothing: a mark that is not an epoch number, outside the recording, or
        lights on before lights off.

        Examples
        --------
        >>> ws.set_lights(off_epoch=42, on_epoch=951)  # doctest: +SKIP
        Lights(off_epoch=42, on_epoch=951, off_id=-1, on_id=3, note='')
        """
        events = self.session.events()
        kept_off, kept_on, _, _ = _marks(events, self.epoch_sec, self.n_epochs)
        off = kept_off if off_epoch is KEEP else self._lights_epoch(off_epoch, "off")
        on = kept_on if on_epoch is KEEP else self._lights_epoch(on_epoch, "on")
        if off is not None and on is not None and on <= off:
            raise EventError(f"Lights on ({self._at(on)}) must come after lights off "
                             f"({self._at(off)}); set lights on later or lights off earlier.")
        problem = _problem(off, on, self.n_epochs)  # a mark kept from the study file
        if problem:
            raise EventError(f"The lights cannot be set so: {problem}; set lights off and "
                             "lights on together.")
        add, change, delete = [], {}, []
        for kind, epoch, keep in (("off", off, off_epoch is KEEP), ("on", on, on_epoch is KEEP)):
            if keep:
                continue
            marks = [i for i, e in events.items() if lights_kind(e) == kind]
            chosen = _chosen(events, kind)
            if epoch is None:
                delete += marks
            elif chosen is None:
                add.append(Event(EventType.OTHER, epoch * self.epoch_sec, 0.0,
                                 scorer=self.scorer, text=LIGHTS_OFF if kind == "off"
                                 else LIGHTS_ON, detail={"lights": kind}))
            else:
                change[chosen[0]] = {"onset": epoch * self.epoch_sec, "duration": 0.0,
                                     "source": EventSource.TECHNICIAN, "scorer": self.scorer,
                                     "detail": {**chosen[1].detail, "lights": kind}}
        if add or change or delete:
            self.session.edit_events(add=add, change=change, delete=delete, reason=reason)
        return self.lights

    def statistics(self, hypnogram: Hypnogram | None = None) -> SleepStatistics:
        """The AASM statistics of ``hypnogram`` (default: the technician's) over the
        recording period the lights marks set.

        Examples
        --------
        >>> ws.statistics().trt_min  # doctest: +SKIP
        454.5
        """
        from app.core.scoring.stats import sleep_statistics

        hyp = self.technician if hypnogram is None else hypnogram
        return sleep_statistics(hyp, **self.lights.statistics_kwargs())

    # -- helpers ------------------------------------------------------------------------
    def _lights_epoch(self, value: object, kind: str) -> int | None:
        if value is None:
            return None
        name = LIGHTS_OFF if kind == "off" else LIGHTS_ON
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value) or not float(value).is_integer():
            raise EventError(f"{name} must be an epoch number, not {value!r}.")
        epoch, n = int(value), self.n_epochs
        if kind == "off" and not 0 <= epoch < n:
            raise EventError(f"Lights off at epoch {epoch + 1} lies outside the recording, "
                             f"which has epochs 1-{n}; choose an epoch of this night.")
        if kind == "on" and not 0 < epoch <= n:
            raise EventError(f"Lights on after epoch {epoch} lies outside the recording, "
                             f"which has epochs 1-{n}; choose an epoch of this night.")
        return epoch

    def _at(self, epoch: int) -> str:
        """An epoch boundary as a technician reads it: "22:41:30, start of epoch 84"."""
        start = self.recording.start_time
        where = f"start of epoch {epoch + 1}" if epoch < self.n_epochs else \
            f"end of epoch {epoch}"
        if start is None:
            sec = int(round(epoch * self.epoch_sec))
            return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d} into the recording, {where}"
        when = start + dt.timedelta(seconds=epoch * self.epoch_sec)
        return f"{when:%H:%M:%S}, {where}"

    def _on_events_change(self, payload: dict) -> None:
        super()._on_events_change(payload)  # type: ignore[misc]
        touched = [ev for pair in (payload.get("changes") or {}).values() for ev in pair
                   if ev is not None]
        if any(lights_kind(ev) for ev in touched):
            self.events.lights(lights=self.lights)
