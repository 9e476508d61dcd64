"""Events as tables: PSG Lens's CSV, and BIDS ``events.tsv`` with its JSON sidecar.

CSV (one row per event, after a ``# psg-lens events`` comment line)::

    onset_sec,duration_sec,type,channels,source,scorer,confidence,text[,detail]
    62,14.5,obstructive_apnea,Flow,technician,tech-01,,
    301.5,4,arousal,"C4-M1,O2-M1",detector,psg-lens-arousal/0.1,0.82,

``type`` is the type's code (or any name a file uses for it; an unknown one is
``other`` with the name as its text), ``channels`` a comma-separated list, ``detail``
(written when any event has one) a JSON object. Text cells a spreadsheet would run as
a formula get a leading apostrophe, as the hypnogram CSV does, and lose it on reading.

BIDS: ``onset``, ``duration``, ``trial_type`` (the type's code), ``channel``, plus
``source``, ``scorer``, ``confidence`` and ``text`` described in the sidecar (``n/a``
where empty). Reading takes the type from ``trial_type`` (or ``value``), mapping codes
through the sidecar's ``Levels``; rows whose type is a sleep stage (a hypnogram in the
same file) are skipped. Every line error names the file and the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from app.core.files.limits import parse_json
from app.core.formats._common import (
    atomic_paths,
    delimiter_of,
    fmt_float,
    fmt_sec,
    fname,
    from_spreadsheet_safe,
    load_json,
    numbered_rows,
    read_text,
    spreadsheet_safe,
    text_lines,
    write_text_atomic,
)
from app.core.formats.bids_events import sidecar_path
from app.core.formats.event_files.common import (
    Found,
    join_channels,
    make_event,
    seconds,
    split_channels,
)
from app.core.formats.event_files.names import is_stage_name
from app.core.scoring.events import Event, EventSource, EventType
from app.errors import FormatError

CSV_MAGIC = "# psg-lens events"
CSV_COLUMNS = ("onset_sec", "duration_sec", "type", "channels", "source", "scorer",
               "confidence", "text")
BIDS_COLUMNS = ("onset", "duration", "trial_type", "channel", "source", "scorer",
                "confidence", "text")
_ALIASES = {"onset_sec": ("onset_sec", "onset"), "duration_sec": ("duration_sec", "duration"),
            "type": ("type", "event", "name", "trial_type"), "channels": ("channels", "channel")}
_NA = ("", "n/a")
_SOURCES = {s.value: s for s in EventSource}
_CODES = {t.value for t in EventType}
EVENT_FILE_KIND = "an event file"  # what size and nesting messages say it should be


def _event(name: str, where: str, cells: dict[str, str], onset: float, duration: float,
           levels: dict | None = None) -> Event:
    """One row's event from its cells (already stripped of spreadsheet apostrophes)."""
    kind = cells.get("type", "")
    if kind not in _CODES:  # a dataset's own codes ("1": "Obstructive apnea")
        kind = str((levels or {}).get(kind, kind))
    source_text = cells.get("source", "").lower()
    if source_text and source_text not in _SOURCES:
        raise FormatError(f"{name}, {where}: the source {source_text!r} is not one of "
                          f"{', '.join(_SOURCES)}.")
    conf_text = cells.get("confidence", "")
    try:
        confidence = float(conf_text) if conf_text else None
    except ValueError:
        raise FormatError(f"{name}, {where}: the confidence {conf_text!r} is not a number "
                          "(0-1).") from None
    detail = _detail(name, where, cells.get("detail", ""))
    common = {"channels": split_channels(cells.get("channels", "")),
              "source": _SOURCES.get(source_text, EventSource.IMPORTED),
              "scorer": cells.get("scorer", ""), "confidence": confidence}
    if kind in _CODES:  # our own code: the text is the text
        return Event(EventType(kind), onset, duration, text=cells.get("text", ""),
                     detail=detail, **common)
    if not kind:
        raise FormatError(f"{name}, {where}: the event has no type.")
    return make_event(kind, onset, duration, note=cells.get("text", ""), detail=detail,
                      **common)


def _detail(name: str, where: str, text: str) -> dict:
    if not text:
        return {}
    value = parse_json(text, where=f"{name}, {where}", error=FormatError, kind=EVENT_FILE_KIND,
                       template="{where}: the detail cell is not valid JSON ({msg}).")
    if not isinstance(value, dict):
        raise FormatError(f"{name}, {where}: the detail cell must be a JSON object, not "
                          f"{text[:40]!r}.")
    return value


# -- CSV ----------------------------------------------------------------------------------
def _rows(name: str, lines: list[str], first: int) -> Iterator[tuple[int, list[str]]]:
    """(file line where the row starts, cells); a quoted cell may span lines."""
    # strict: an unclosed quote is an error, not the rest of the file in one cell
    reader = csv.reader(lines[first:], delimiter=delimiter_of(lines[first]), strict=True)
    return numbered_rows(name, reader, first)


def _column_map(name: str, header: list[str], line: int, need: tuple[str, ...]
                ) -> dict[str, int]:
    cols = [c.strip().lower() for c in header]
    out = {}
    for key in ("onset_sec", "duration_sec", "type", "channels", "source", "scorer",
                "confidence", "text", "detail"):
        for alias in _ALIASES.get(key, (key,)):
            if alias in cols:
                out[key] = cols.index(alias)
                break
    missing = [k for k in need if k not in out]
    if missing:
        raise FormatError(f"{name}, line {line}: there is no {missing[0]} column (found "
                          f"{', '.join(cols) or 'none'}).")
    return out


def read_csv_events(path: Path) -> list[Found]:
    """Read an event CSV (the delimiter is taken from the header line)."""
    name = fname(path)
    lines = text_lines(read_text(path))
    first = next((i for i, ln in enumerate(lines) if ln.strip() and
                  not ln.lstrip().startswith("#")), None)
    if first is None:
        raise FormatError(f"{name} is empty: it has no header line and no events.")
    rows = _rows(name, lines, first)
    header_line, header = next(rows)
    col = _column_map(name, header, header_line, ("onset_sec", "duration_sec", "type"))
    out = []
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        where = f"line {line}"
        if len(row) > len(header):
            raise FormatError(f"{name}, {where}: {len(row)} fields but the header has "
                              f"{len(header)}; is a text cell missing its quotes?")
        cells = {k: from_spreadsheet_safe(row[i].strip()) if i < len(row) else ""
                 for k, i in col.items()}
        onset = seconds(name, cells["onset_sec"], where, "the onset")
        duration = seconds(name, cells["duration_sec"] or "0", where, "the duration")
        out.append(Found(_event(name, where, cells, onset, duration), where))
    return out


def _csv_cells(ev: Event, with_detail: bool, path: Path) -> list[str]:
    cells = [fmt_sec(ev.onset), fmt_sec(ev.duration), ev.type.value,
             spreadsheet_safe(join_channels(ev.channels)), ev.source.value,
             spreadsheet_safe(ev.scorer),
             "" if ev.confidence is None else fmt_float(ev.confidence),
             spreadsheet_safe(ev.text)]
    if with_detail:
        try:
            cells.append(json.dumps(ev.detail, ensure_ascii=False) if ev.detail else "")
        except (TypeError, ValueError) as err:
            raise FormatError(f"Cannot write {fname(path)}: the detail of the "
                              f"{ev.type.label.lower()} at {ev.onset:g} s holds a value a "
                              f"file cannot store ({err}).") from None
    return cells


def write_csv_events(events: Sequence[Event], path: Path) -> None:
    """Write one row per event (see the module docstring for the columns)."""
    with_detail = any(ev.detail for ev in events)
    buf = io.StringIO()
    buf.write(CSV_MAGIC + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(CSV_COLUMNS) + (["detail"] if with_detail else []))
    for ev in events:
        w.writerow(_csv_cells(ev, with_detail, path))
    write_text_atomic(Path(path), buf.getvalue())


# -- BIDS ---------------------------------------------------------------------------------
def _levels(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    data = load_json(side, template="{where}, line {line}: the BIDS sidecar is not valid "
                                    "JSON ({msg}).")
    entry = data.get("trial_type") if isinstance(data, dict) else None
    levels = entry.get("Levels") if isinstance(entry, dict) else None
    return {str(k): str(v) for k, v in levels.items()} if isinstance(levels, dict) else {}


def read_bids_events(path: Path) -> list[Found]:
    """Read a BIDS events.tsv; rows holding sleep stages are left to the hypnogram reader."""
    name = fname(path)
    lines = text_lines(read_text(path))
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise FormatError(f"{name} is empty: it has no header line and no events.")
    header = lines[first].split("\t")
    col = _column_map(name, header, first + 1, ("onset_sec", "duration_sec"))
    if "type" not in col and "value" in [c.strip().lower() for c in header]:
        col["type"] = [c.strip().lower() for c in header].index("value")
    if "type" not in col:
        raise FormatError(f"{name}, line {first + 1}: there is no trial_type column, so "
                          "what each event is cannot be told.")
    levels = _levels(path)
    out = []
    for n in range(first + 1, len(lines)):
        if not lines[n].strip():
            continue
        where = f"line {n + 1}"
        row = lines[n].split("\t")
        if len(row) != len(header):
            raise FormatError(f"{name}, {where}: {len(row)} fields but the header has "
                              f"{len(header)}.")
        cells = {k: from_spreadsheet_safe(row[i].strip()) for k, i in col.items()}
        cells = {k: "" if v.lower() in _NA else v for k, v in cells.items()}
        if is_stage_name(levels.get(cells["type"], cells["type"])):
            continue  # a hypnogram's epoch in the same file
        onset = seconds(name, cells["onset_sec"], where, "the onset")
        duration = seconds(name, cells["duration_sec"] or "0", where, "the duration")
        out.append(Found(_event(name, where, cells, onset, duration, levels), where))
    return out


def _tsv(text: str) -> str:
    return spreadsheet_safe(text.replace("\t", " ")) or "n/a"


def write_bids_events(events: Sequence[Event], path: Path) -> None:
    """Write ``events.tsv`` and its JSON sidecar, both or neither."""
    path = Path(path)
    out = ["\t".join(BIDS_COLUMNS)]
    for ev in events:
        out.append("\t".join([
            fmt_sec(ev.onset), fmt_sec(ev.duration), ev.type.value,
            _tsv(join_channels(ev.channels)), ev.source.value, _tsv(ev.scorer),
            "n/a" if ev.confidence is None else fmt_float(ev.confidence), _tsv(ev.text)]))
    used = sorted({ev.type for ev in events}, key=lambda t: t.value)
    side = {
        "onset": {"Description": "Onset of the event from the start of the recording.",
                  "Units": "s"},
        "duration": {"Description": "Length of the event.", "Units": "s"},
        "trial_type": {"LongName": "Scored event type",
                       "Description": "AASM event type ('other': see the text column).",
                       "Levels": {t.value: t.label for t in used}},
        "channel": {"Description": "Channels the event was marked on, comma-separated."},
        "source": {"Description": "Who put the event there.",
                   "Levels": {s.value: s.value.capitalize() for s in EventSource}},
        "scorer": {"Description": "Scorer id (a technician or a detector and its version)."},
        "confidence": {"Description": "A detector's confidence, 0-1 (n/a: scored by a "
                                      "person).", "Units": "1"},
        "text": {"Description": "The original name of an 'other' event, or a note."},
    }
    with atomic_paths(path, sidecar_path(path)) as (tmp_tsv, tmp_json):
        tmp_tsv.write_text("\n".join(out) + "\n", encoding="utf-8")
        tmp_json.write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
