"""psg-lens events STUDY [--detect] [--json]: the study's scored events, the detectors'
proposals and the AASM event indices.

Scored events are the study file's own annotations (read with the event-file readers'
names) and, when the study has a session, the technician's events in it. ``--detect``
runs the detectors (:mod:`app.core.detectors`); their events (or, without it, the
proposals waiting for review in the session) are listed and counted apart from the
scored ones. Indices need sleep stages: ``--hypnogram``, or the technician's
hypnogram in the study's session (the model is not run here).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.core.scoring.event_indices import DEFINITIONS, EventIndices, IndexTable
from app.core.scoring.events import Event, EventSource, sort_events
from app.errors import PSGLensError

_SHOWN_DETAIL = ("drop_pct", "nadir_pct", "flow_drop_pct", "effort_absent_pct",
                 "desaturation_pct", "arousal_onset_s", "peak_above_rest_uv", "side", "band",
                 "power_rise", "stage", "series", "sensor")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="scored events of a study; --detect proposes more",
                       description="List a study's scored events (its annotations and its "
                                   "session) and the AASM indices. --detect runs the event "
                                   "detectors: decision support, counted apart from the "
                                   "technician's events.")
    p.add_argument("study", help="EDF, EDF+, BDF or another file MNE reads")
    p.add_argument("--detect", action="store_true",
                   help="run the detectors (desaturations, apneas, hypopneas, limb "
                        "movements and PLM series, arousals)")
    p.add_argument("--hypnogram", help="sleep stages for arousals and the indices (default: "
                                       "the technician's hypnogram in the study's session)")
    p.add_argument("--fit", action="store_true",
                   help="fit a hypnogram of another length onto the study by its start time")
    p.add_argument("--hypopnea-rule", default="1A", metavar="1A|1B",
                   help="AASM hypopnea rule: 1A (3 %% desaturation or arousal, default) or "
                        "1B (4 %% desaturation)")
    p.add_argument("--position-codes", metavar="CODES",
                   help="what the position channel's numbers mean, as its system's manual "
                        "says, e.g. 0=right,1=supine,2=left,3=prone")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def study_events(rec) -> list[Event]:
    """The study file's own annotations as events (source STUDY), stage marks left out."""
    from app.core.formats.event_files import events_from_annotations

    return sort_events(f.event for f in events_from_annotations(rec.annotations()))


def read_event_file(path: str, *, recording_sec: float | None = None,
                    channel_names: list[str] | None = None) -> list[Event]:
    """Events from any event file PSG Lens reads, or a JSON list of event records (what
    ``--json`` and the synthesiser's truth files write)."""
    from app.core.files.limits import HYPNOGRAM_MAX_BYTES, load_json_file
    from app.core.formats.event_files import read_events
    from app.core.scoring.events import check_event
    from app.errors import FormatError

    p = Path(path)
    if p.suffix.lower() != ".json":
        return read_events(p, recording_sec=recording_sec, channel_names=channel_names)
    data = load_json_file(p, limit=HYPNOGRAM_MAX_BYTES, error=FormatError, where=p.name,
                          kind="an event file")
    records = data.get("events", data.get("detected")) if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise FormatError(f"{p.name} holds no list of events; expected a JSON list of "
                          "records with type, onset and duration.")
    out = []
    for k, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise FormatError(f"{p.name}, event {k}: expected a record with type, onset and "
                              f"duration, found {type(rec).__name__}.")
        try:
            ev = Event.from_dict(rec)
            if recording_sec is not None:
                check_event(ev, recording_sec=recording_sec, channel_names=channel_names)
        except PSGLensError as err:
            raise FormatError(f"{p.name}, event {k}: {err}") from None
        out.append(ev)
    return sort_events(out)


def _session_part(rec, notes: list[str]) -> tuple[list[Event] | None, object | None]:
    """(events, technician hypnogram) kept in the study's session; (None, None) without
    one. A session another program holds is a note, never an error."""
    from app.core.scoring.session import ScoringSession
    from app.core.scoring.study_identity import session_path_for
    from app.errors import SessionError

    if not session_path_for(rec.path).exists():
        return None, None
    try:
        with ScoringSession.open(rec.path, n_epochs=rec.n_epochs, epoch_sec=rec.epoch_sec,
                                 start_time=rec.start_time) as s:
            s.set_study_events(study_events(rec))
            hyp = s.technician_hypnogram()
            return list(s.events().values()), (hyp if (hyp.stages >= 0).any() else None)
    except SessionError as err:
        notes.append(f"The study's session was not read: {err}")
        return None, None


def collect(args: argparse.Namespace, rec) -> dict:
    """Everything the command reports, as plain data (the JSON output)."""
    from app.core.scoring.event_indices import event_indices, position_from_events

    notes: list[str] = []
    session_events, session_hyp = _session_part(rec, notes)
    scored = sort_events(session_events) if session_events is not None else study_events(rec)
    # proposals a detector left in the session wait for review: never scored events
    pending = [e for e in scored if e.source is EventSource.DETECTOR]
    scored = [e for e in scored if e.source is not EventSource.DETECTOR]
    hyp, hyp_from = None, None
    if args.hypnogram:
        from app.commands.hypnogram_fit import fit_to_study
        from app.core.formats import read_hypnogram

        hyp = fit_to_study(read_hypnogram(args.hypnogram), rec, args.hypnogram, args.fit)
        hyp_from = args.hypnogram
    elif session_hyp is not None:
        hyp, hyp_from = session_hyp, "the technician's hypnogram in the study's session"
    detected = pending or None
    out: dict = {"study": str(rec.path), "duration_sec": rec.duration_sec,
                 "hypnogram": hyp_from, "skipped": [], "notes": notes}
    if args.detect:
        from app.core.detectors import detect_events

        result = detect_events(rec, hyp, hypopnea_rule=args.hypopnea_rule)
        detected = result.events
        out["skipped"] = result.skipped
        notes += result.notes
        out["channels"] = result.channels
        out["detector_seconds"] = {k: round(v, 2) for k, v in result.seconds.items()}
    position = position_from_events(scored)
    if args.position_codes:
        from app.core.detectors.position import parse_codes, position_track

        position = position_track(rec, parse_codes(args.position_codes))
    indices = None
    if hyp is None:
        notes.append("No hypnogram: the indices per hour of sleep were not computed (give "
                     "--hypnogram, or score the study's sleep first).")
    else:
        from app.core.detectors.desaturation import with_measured_drops

        scored = with_measured_drops(rec, scored)  # a lab's marks: drops from the trace
        indices = event_indices(scored + (detected or []), hyp, position=position,
                                detector=args.detect or bool(pending))
    out.update(events=[e.to_dict() for e in scored],
               detected=None if detected is None else [e.to_dict() for e in detected],
               indices=None if indices is None else indices.to_dict(), _indices=indices,
               _scored=scored, _detected=detected)
    return out


def run(args: argparse.Namespace) -> int:
    from app.core.detectors.hypopnea import check_rule
    from app.core.signals.recording import Recording

    args.hypopnea_rule = check_rule(args.hypopnea_rule)
    if args.position_codes:
        from app.core.detectors.position import parse_codes

        parse_codes(args.position_codes)  # a bad code is a sentence before any reading
    rec = Recording.open(args.study)
    d = collect(args, rec)
    if args.json:
        print(json.dumps({k: v for k, v in d.items() if not k.startswith("_")}, indent=2,
                         default=str))
        return 0
    print(f"{rec.path.name}: {rec.duration_sec / 3600:.2f} h, {rec.n_epochs} epochs; "
          f"hypnogram: {d['hypnogram'] or 'none'}")
    _print_events("Scored events (study annotations and session)", d["_scored"])
    if d["_detected"] is not None:
        _print_events("Detected events (decision support: not reviewed by a technician)",
                      d["_detected"])
    for line in d["skipped"]:
        print(f"skipped: {line}")
    for line in d["notes"]:
        print(f"note: {line}")
    if d["_indices"] is not None:
        for line in format_indices(d["_indices"]):
            print(line)
    return 0


def _print_events(title: str, events: list[Event]) -> None:
    print(f"\n{title}: {len(events)}")
    if not events:
        return
    print(f"  {'time':>8}  {'type':<24}{'length':>8}  {'channels':<24}{'source':<11}"
          f"{'conf':>5}  detail")
    for e in events:
        name = e.text if e.type.value == "other" and e.text else e.type.label
        conf = "" if e.confidence is None else f"{e.confidence:.2f}"
        detail = ", ".join(f"{k}={e.detail[k]}" for k in _SHOWN_DETAIL
                           if e.detail.get(k) is not None)
        print(f"  {_clock(e.onset):>8}  {name[:23]:<24}{e.duration:>6.1f} s  "
              f"{', '.join(e.channels)[:23]:<24}{e.source.value:<11}{conf:>5}  {detail}")


def format_indices(ix: EventIndices) -> list[str]:
    """The indices as printed lines: the scored table, then the detector's, apart."""
    lines = []
    for table in (ix.scored, ix.detector):
        if table is not None:
            lines += _table_lines(table)
    return lines


def _table_lines(t: IndexTable) -> list[str]:
    head = f"\nIndices per hour of sleep, {t.title}:"
    groups = [("overall", t.overall), *(t.by_stage.items()), *(t.by_position.items())]
    lines = [head, f"  {'':<40}" + "".join(f"{g:>11}" for g, _ in groups)]
    for key, d in DEFINITIONS.items():
        cells = "".join(f"{_per_hour(vals[key].value):>11}" for _, vals in groups)
        lines.append(f"  {d.label[:39]:<40}{cells}")
    lines.append(f"  {'hours of sleep':<40}" + "".join(
        f"{next(iter(vals.values())).hours:>11.2f}" for _, vals in groups))
    lines += [f"  note: {n}" for n in t.notes]
    return lines


def _per_hour(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def _clock(sec: float) -> str:
    s = int(round(sec))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
