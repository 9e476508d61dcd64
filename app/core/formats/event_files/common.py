"""What every event reader shares: building an event from a file's name for it, the
checks against the recording (one sentence naming the file, the place and the value),
the count limit, and channel lists in one cell."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.formats._common import fname
from app.core.formats.event_files.names import other_text, type_for_name
from app.core.scoring.events import (
    Event,
    EventError,
    EventSource,
    EventType,
    check_event,
    sort_events,
)
from app.errors import FormatError

#: A night holds a few thousand events; a file with more is not an event file.
MAX_EVENTS = 100_000


@dataclass(frozen=True)
class Found:
    """An event as a reader found it, and where (``"line 12"``, ``"ScoredEvent 4"``)."""

    event: Event
    where: str


def make_event(name: str, onset: float, duration: float, *, channels: Sequence[str] = (),
               source: EventSource = EventSource.IMPORTED, scorer: str = "",
               confidence: float | None = None, note: str = "",
               detail: dict | None = None) -> Event:
    """The event a file's ``name`` means; an unknown name is ``OTHER`` with its text.

    A known name is kept in ``detail["name"]`` (written back by the same format), the
    file's note (if any) in ``text``.

    Examples
    --------
    >>> make_event("Snore", 10.0, 2.0).text, make_event("Hypopnea", 1.0, 9.0).type.label
    ('Snore', 'Hypopnea')
    """
    detail = dict(detail or {})
    found = type_for_name(name)
    if found is None:
        if note:
            detail["note"] = note
        return Event(EventType.OTHER, onset, duration, tuple(channels), source, scorer,
                     confidence, other_text(name), detail)
    detail["name"] = name.strip()
    return Event(found, onset, duration, tuple(channels), source, scorer, confidence, note,
                 detail)


def seconds(name: str, text: str | None, where: str, what: str) -> float:
    """A number of seconds from a file, or a sentence naming where and what it was."""
    raw = (text or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise FormatError(f"{name}, {where}: {what} is {raw!r}, not a number of "
                          "seconds.") from None
    if not math.isfinite(value):
        raise FormatError(f"{name}, {where}: {what} is {raw!r}, not a number of seconds.")
    return value


def split_channels(text: str) -> tuple[str, ...]:
    """``"Flow, Thor"`` -> ``("Flow", "Thor")``; ``"[Flow]"`` (BIDS lists) too."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return tuple(c.strip().strip("'\"") for c in inner.split(",") if c.strip().strip("'\""))


def join_channels(channels: Iterable[str]) -> str:
    return ",".join(channels)


def finish(path: str | os.PathLike, found: list[Found], *, recording_sec: float | None,
           channel_names: Sequence[str] | None) -> list[Event]:
    """The events, checked (against the recording when its length and channels are
    given) and sorted by onset; the first bad one is a FormatError naming its place."""
    name = fname(Path(path))
    if len(found) > MAX_EVENTS:
        raise FormatError(f"{name} holds {len(found)} events, more than a night has "
                          f"({MAX_EVENTS} at most); check that it is the right file.")
    limit = math.inf if recording_sec is None else float(recording_sec)
    for f in found:
        try:
            check_event(f.event, recording_sec=limit, channel_names=channel_names)
        except EventError as err:
            raise FormatError(f"{name}, {f.where}: {err}") from None
    return sort_events(f.event for f in found)
