"""Events as EDF+ annotations: a study's own, or an annotations-only EDF+ file.

Each annotation is (onset, duration, text) in seconds from the file's start. Texts that
name a sleep stage (``Sleep stage 2``, ``W``, ...) are the hypnogram readers' and are
skipped here; every other text is an event, of the type its name says
(:func:`~app.core.formats.event_files.names.type_for_name`) or ``OTHER`` with its text
(``Lights off``, ``Bathroom break``), so nothing the study holds is lost.

Written: an annotations-only EDF+C file (edfio) with one annotation per event, the
first scorer as the technician code. EDF+ has no place for channels, sources or
confidences: those are dropped; CSV and BIDS keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.core.formats._common import atomic_paths, fname
from app.core.formats.event_files.common import Found, make_event
from app.core.formats.event_files.names import EDF, is_stage_name, name_for
from app.core.scoring.events import Event, EventSource
from app.errors import FormatError, StudyError


def events_from_annotations(annotations: Sequence[tuple[float, float | None, str]], *,
                            source: EventSource = EventSource.STUDY, scorer: str = ""
                            ) -> list[Found]:
    """Events from EDF+ annotations, stage annotations left out; each names its place
    (``annotation 7``, counted as the file lists them).

    Examples
    --------
    >>> found = events_from_annotations([(0.0, 30.0, "Sleep stage W"),
    ...                                  (12.0, 11.0, "Obstructive Apnea"),
    ...                                  (40.0, 0.0, "Lights off")])
    >>> [(f.event.type.value, f.event.text, f.where) for f in found]
    [('obstructive_apnea', '', 'annotation 2'), ('other', 'Lights off', 'annotation 3')]
    """
    out = []
    for i, (onset, duration, text) in enumerate(annotations, start=1):
        if not text.strip() or is_stage_name(text):
            continue
        ev = make_event(text, float(onset), float(duration or 0.0), source=source,
                        scorer=scorer)
        out.append(Found(ev, f"annotation {i}"))
    return out


def read_edf_events(path: Path) -> list[Found]:
    """The events among an EDF+ file's annotations (a study or an annotations file)."""
    from app.core.signals.edf_reader import EdfFile

    try:
        anns = EdfFile(path).annotations()
    except StudyError as err:
        raise FormatError(f"{fname(path)} is not a readable EDF+ file: {err}") from None
    return events_from_annotations(anns, source=EventSource.IMPORTED, scorer=path.stem)


def _header_field(text: str) -> str:
    """An EDF+ header subfield: printable ASCII, no spaces ('X' when empty)."""
    clean = "".join(c if 33 <= ord(c) < 127 else "_" for c in text.strip())
    return clean[:40] or "X"


def write_edf_events(events: Sequence[Event], path: Path) -> None:
    """Write an annotations-only EDF+C file, one annotation per event."""
    import edfio

    anns = [edfio.EdfAnnotation(ev.onset, ev.duration or None, name_for(ev, EDF))
            for ev in events]
    scorer = next((ev.scorer for ev in events if ev.scorer), "")
    try:
        edf = edfio.Edf([], annotations=anns, recording=edfio.Recording(
            investigator_technician_code=_header_field(scorer)))
    except (ValueError, UnicodeError) as err:
        raise FormatError(f"Cannot write {fname(path)} as EDF+: {err}.") from None
    with atomic_paths(Path(path)) as (tmp,):
        edf.write(tmp)
