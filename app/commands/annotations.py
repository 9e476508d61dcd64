"""psg-lens annotations STUDY [--json] [--no-stages]: the study file's own annotations.

Every EDF+ annotation (or the annotations MNE reads from other formats) with its onset
as clock time and as time from the start, its duration and its text as the file has it,
and what PSG Lens reads it as: an event type (through the event-file readers' names,
:func:`app.core.formats.event_files.events_from_annotations`, as ``psg-lens events`` and
the workstation read them), a sleep stage (the hypnogram readers' business), or a note.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from app.core.formats.event_files import events_from_annotations
from app.core.formats.event_files.names import is_stage_name


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("annotations", help="list the study file's own annotations",
                       description="List the study's EDF+ annotations: onset (clock time "
                                   "and from the start), duration, text and what PSG Lens "
                                   "reads each as.")
    p.add_argument("study", help="EDF+, BDF+ or another file MNE reads")
    p.add_argument("--no-stages", action="store_true",
                   help="leave out sleep-stage annotations (the hypnogram)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def elapsed(sec: float) -> str:
    """Seconds from the start as h:mm:ss.s."""
    s = max(float(sec), 0.0)
    return f"{int(s // 3600)}:{int(s // 60 % 60):02d}:{s % 60:04.1f}"


def reads_as(text: str) -> str:
    """What PSG Lens reads an annotation's text as: an event type, 'sleep stage' or ''."""
    if not text.strip():
        return ""
    if is_stage_name(text):
        return "sleep stage"
    found = events_from_annotations([(0.0, 0.0, text)])
    if not found or found[0].event.type.value == "other":
        return ""  # kept as a note with its own text (Lights off, Snore, ...)
    return found[0].event.type.label


def annotation_rows(rec, *, stages: bool = True) -> list[dict]:
    """The recording's annotations in time order, as plain records."""
    rows = []
    for onset, duration, text in sorted(rec.annotations(), key=lambda a: a[0]):
        kind = reads_as(text)
        if not stages and kind == "sleep stage":
            continue
        clock = None
        if rec.start_time is not None:
            clock = (rec.start_time + dt.timedelta(seconds=float(onset))).isoformat(
                timespec="seconds")
        rows.append({"onset_sec": float(onset), "clock": clock,
                     "duration_sec": None if duration is None else float(duration),
                     "text": text, "reads_as": kind})
    return rows


def run(args: argparse.Namespace) -> int:
    from app.core.signals.recording import Recording

    rec = Recording.open(args.study)
    rows = annotation_rows(rec, stages=not args.no_stages)
    if args.json:
        print(json.dumps({"study": str(rec.path),
                          "start_time": rec.start_time.isoformat() if rec.start_time else None,
                          "annotations": rows}, indent=2))
        return 0
    print(f"{rec.path.name}: {len(rows)} annotation(s)"
          + (f", recording started {rec.start_time:%Y-%m-%d %H:%M:%S}" if rec.start_time
             else ", start time unknown"))
    if not rows:
        return 0
    print(f"  {'clock':>8}  {'from start':>10}  {'duration':>9}  {'reads as':<22}text")
    for r in rows:
        clock = r["clock"][11:19] if r["clock"] else "-"
        dur = "-" if not r["duration_sec"] else f"{r['duration_sec']:.1f} s"
        print(f"  {clock:>8}  {elapsed(r['onset_sec']):>10}  {dur:>9}  "
              f"{(r['reads_as'] or 'note')[:21]:<22}{r['text']}")
    return 0
