"""psg-lens stats HYPNOGRAM [--json]: the AASM statistics, each with its definition; with
``--events FILE`` or ``--study STUDY [--detect]``, the event indices (AHI, ODI, ...) too."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="AASM sleep statistics of a hypnogram")
    p.add_argument("hypnogram")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--lights-off", type=int, help="lights-off epoch (0-based, inclusive)")
    p.add_argument("--lights-on", type=int, help="lights-on epoch (0-based, exclusive)")
    p.add_argument("--definitions", action="store_true", help="print each definition")
    p.add_argument("--events", metavar="FILE",
                   help="scored events (any event file PSG Lens reads, or a JSON list of "
                        "event records): add the AHI, ODI, arousal and PLM indices")
    p.add_argument("--study", help="the study: its own annotations are the events")
    p.add_argument("--detect", action="store_true",
                   help="with --study: also run the detectors (counted apart)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.formats import read_hypnogram
    from app.core.scoring.stats import DEFINITIONS, sleep_statistics
    from app.errors import PSGLensError

    if args.detect and not args.study:
        raise PSGLensError("--detect runs the detectors on a study: give it with --study.")
    hyp = read_hypnogram(args.hypnogram)
    st = sleep_statistics(hyp, lights_off_epoch=args.lights_off, lights_on_epoch=args.lights_on)
    indices = _indices(args, hyp) if (args.events or args.study) else None
    if args.json:
        d = st.to_dict()
        if indices is not None:
            d["event_indices"] = indices.to_dict()
        print(json.dumps(d, indent=2, default=str))
        return 0
    print(f"{args.hypnogram}: {hyp.n_epochs} epochs of {hyp.epoch_sec:g} s")
    for key, d in DEFINITIONS.items():
        print(f"  {d.label:<42} {st.format(key)}")
        if args.definitions:
            print(f"      {d.text}")
    if indices is not None:
        from app.commands.events import format_indices
        from app.core.scoring.event_indices import DEFINITIONS as INDEX_DEFINITIONS

        for line in format_indices(indices):
            print(line)
        if args.definitions:
            for d in INDEX_DEFINITIONS.values():
                print(f"  {d.label}: {d.text}")
    return 0


def _indices(args: argparse.Namespace, hyp):
    """The event indices of ``--events`` and/or ``--study`` against this hypnogram."""
    from app.commands.events import read_event_file, study_events
    from app.commands.hypnogram_fit import fit_to_study
    from app.core.scoring.event_indices import event_indices

    events, rec = [], None
    if args.study:
        from app.core.signals.recording import Recording

        rec = Recording.open(args.study)
        hyp = fit_to_study(hyp, rec, args.hypnogram, False)
        events += study_events(rec)
    if args.events:
        events += read_event_file(args.events,
                                  recording_sec=rec.duration_sec if rec else None,
                                  channel_names=rec.ch_names if rec else None)
    if args.detect:
        from app.core.detectors import detect_events
        from app.core.scoring.events import EventSource

        result = detect_events(rec, hyp)
        events += [e for e in result.events if e.source is EventSource.DETECTOR]
        ix = event_indices(events, hyp, detector=True)
        ix.detector.notes[:0] = [f"skipped: {s}" for s in result.skipped] + result.notes
        return ix
    return event_indices(events, hyp)
