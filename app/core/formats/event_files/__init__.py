"""Scored-event files in and out: EDF+ annotations, NSRR XML, Compumedics Profusion XML,
BIDS ``events.tsv`` and PSG Lens's CSV.

Reading detects the format from the content (as hypnograms do) and returns the events
sorted by onset; writing picks the format from the extension (``.edf``, ``.xml`` NSRR,
``-profusion.xml``, ``_events.tsv``/``.tsv`` BIDS, ``.csv``) and replaces the target only
once the whole file is written. A name PSG Lens does not know is an ``OTHER`` event with
its original text, never dropped; stage annotations in the same file are skipped (the
hypnogram readers read those, exactly as before). Given the recording's length and
channel names, every event is checked against them; any problem is one
:class:`~app.errors.FormatError` sentence naming the file, the line or element, and the
value. Files over 64 MiB, XML nested over 64 levels or declaring entities, and files
of more than 100 000 events are refused before their events are used.

What each format carries besides type, onset and duration: CSV and BIDS everything
(channels, source, scorer, confidence, text; CSV also ``detail``), NSRR and Profusion
the channel and SpO2 figures, EDF+ nothing more.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.events import Event, EventType
>>> p = pathlib.Path(tempfile.mkdtemp()) / "night-nsrr.xml"
>>> write_events([Event(EventType.HYPOPNEA, 120.0, 14.0, ("Flow",))], p)
>>> [(e.type.label, e.onset, e.channels) for e in read_events(p)]
[('Hypopnea', 120.0, ('Flow',))]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.files.limits import HYPNOGRAM_MAX_BYTES, size_text
from app.core.formats._common import HYPNOGRAM_KIND, fname, read_head, xml_root
from app.core.formats.event_files import edf, tables, xml_events
from app.core.formats.event_files.common import MAX_EVENTS, Found, finish
from app.core.formats.event_files.edf import events_from_annotations
from app.core.formats.event_files.names import is_stage_name, type_for_name
from app.core.scoring.events import Event, sort_events
from app.errors import FormatError

__all__ = ["EVENT_FORMATS", "MAX_EVENTS", "EventFormat", "detect_event_format",
           "event_format_for_path", "events_from_annotations", "is_stage_name",
           "read_events", "type_for_name", "write_events"]


@dataclass(frozen=True)
class EventFormat:
    """One event-file format: its reader (path -> found events) and writer."""

    name: str
    description: str
    extensions: tuple[str, ...]
    reader: Callable[[Path], list[Found]]
    writer: Callable[[Sequence[Event], Path], None]


EVENT_FORMATS: dict[str, EventFormat] = {f.name: f for f in (
    EventFormat("edf", "EDF+ annotations", (".edf",), edf.read_edf_events,
                edf.write_edf_events),
    EventFormat("nsrr", "NSRR XML (PSGAnnotation ScoredEvents)", (".xml",),
                xml_events.read_nsrr_events, xml_events.write_nsrr_events),
    EventFormat("profusion", "Compumedics Profusion XML (CMPStudyConfig ScoredEvents)",
                ("-profusion.xml", "_profusion.xml"), xml_events.read_profusion_events,
                xml_events.write_profusion_events),
    EventFormat("bids", "BIDS events.tsv with a JSON sidecar", ("_events.tsv", ".tsv"),
                tables.read_bids_events, tables.write_bids_events),
    EventFormat("csv", "PSG Lens event CSV", (".csv",), tables.read_csv_events,
                tables.write_csv_events),
)}


def detect_event_format(path: str | os.PathLike) -> str:
    """The name (in ``EVENT_FORMATS``) of the event format ``path`` holds, from its
    content; a file that is none of them is a sentence saying what it looked like."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{fname(path)} does not exist or is not a file (looked in "
                          f"{path.parent}).")
    head = read_head(path)
    if head.raw[:8] == b"0       ":
        return "edf"  # a study may be GBs: only its annotations are read, not the file
    size = path.stat().st_size
    if size > HYPNOGRAM_MAX_BYTES:
        raise FormatError(f"{fname(path)} is {size_text(size)}, larger than an event file "
                          f"can be ({size_text(HYPNOGRAM_MAX_BYTES)} at most); check that "
                          "it is the right file.")
    if head.text is None or not head.text.strip():
        raise FormatError(f"{fname(path)} is empty or binary, not an event file.")
    root = xml_root(head)
    if root is not None:
        found = {"PSGAnnotation": "nsrr", "CMPStudyConfig": "profusion"}.get(root)
        if found is None:
            raise FormatError(f"{fname(path)}: the XML root element is <{root}>, not "
                              "<PSGAnnotation> (NSRR) or <CMPStudyConfig> (Profusion).")
        return found
    lines = head.data_lines(1)
    cols = [c.strip().strip('"').lower() for c in
            (lines[0].replace("\t", ",").replace(";", ",").split(",") if lines else [])]
    if "onset_sec" in cols:
        return "csv"
    if {"onset", "duration"} <= set(cols) and "\t" in lines[0]:
        return "bids"
    shown = lines[0][:60] if lines else ""
    raise FormatError(f"{fname(path)} is not an event file PSG Lens reads: its first line "
                      f"{shown!r} has neither an onset_sec column (CSV) nor onset and "
                      "duration columns (BIDS), and it is neither XML nor EDF+.")


def event_format_for_path(path: str | os.PathLike) -> str:
    """The format to write ``path`` in, from its extension (longest match wins)."""
    low = Path(path).name.lower()
    best, best_len = None, 0
    for name, spec in EVENT_FORMATS.items():
        for ext in spec.extensions:
            if low.endswith(ext) and len(ext) > best_len:
                best, best_len = name, len(ext)
    if best is None:
        exts = sorted({e for s in EVENT_FORMATS.values() for e in s.extensions})
        raise FormatError(f"Cannot tell the event format of {Path(path).name} from its "
                          f"extension; use one of {', '.join(exts)} or pass format=.")
    return best


def _spec(name: str) -> EventFormat:
    try:
        return EVENT_FORMATS[name]
    except KeyError:
        raise FormatError(f"Unknown event format {name!r}; known formats: "
                          f"{', '.join(EVENT_FORMATS)}.") from None


def read_events(path: str | os.PathLike, format: str | None = None, *,
                recording_sec: float | None = None,
                channel_names: Sequence[str] | None = None) -> list[Event]:
    """Read the scored events of a file, sorted by onset.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        A name from ``EVENT_FORMATS``; detected from the content when omitted.
    recording_sec, channel_names : optional
        The recording the events belong to: an event outside it or on a channel it
        lacks is refused, naming the file and the line or element.

    Raises
    ------
    FormatError
        For a missing, malformed, oversized or deeply nested file, or a bad event.

    Examples
    --------
    >>> evs = read_events("night-nsrr.xml", recording_sec=28800.0)  # doctest: +SKIP
    """
    path = Path(path)
    spec = _spec(format if format is not None else detect_event_format(path))
    if not path.is_file():
        raise FormatError(f"{fname(path)} does not exist or is not a file.")
    try:
        found = spec.reader(path)
    except FormatError as err:  # the shared readers' limits speak of hypnogram files
        raise FormatError(str(err).replace(HYPNOGRAM_KIND, "an event file")) from None
    except OSError as err:
        raise FormatError(f"Cannot read {fname(path)}: {err.strerror or err}.") from None
    except (ValueError, KeyError, IndexError, UnicodeError) as err:  # slipped past checks
        raise FormatError(f"{fname(path)} could not be read as {spec.description}: "
                          f"{err}.") from None
    return finish(path, found, recording_sec=recording_sec, channel_names=channel_names)


def write_events(events: Iterable[Event], path: str | os.PathLike,
                 format: str | None = None) -> None:
    """Write events (sorted by onset); the target is replaced only once it is whole.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from app.core.scoring.events import Event, EventType
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> write_events([Event(EventType.AROUSAL, 30.0, 4.0, scorer="tech-01")], p)
    >>> read_events(p)[0].scorer
    'tech-01'
    """
    path = Path(path)
    spec = _spec(format if format is not None else event_format_for_path(path))
    try:
        spec.writer(sort_events(events), path)
    except OSError as err:
        raise FormatError(f"Cannot write {fname(path)}: {err.strerror or err}.") from None
