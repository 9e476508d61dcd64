"""psg-lens report STUDY --hypnogram H -o report.pdf: the PDF report of a scored night."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="PDF report: hypnogram, statistics with definitions")
    p.add_argument("study", help="the PSG file the hypnogram belongs to")
    p.add_argument("--hypnogram", required=True, help="the technician's hypnogram file")
    p.add_argument("--model-hypnogram", help="a model's scoring, for the agreement section")
    p.add_argument("--events", metavar="FILE",
                   help="scored events (CSV, BIDS events.tsv, NSRR or Profusion XML, EDF+): "
                        "counted, with the AHI, ODI, arousal index and PLMI; the study's own "
                        "EDF+ annotations are always included")
    p.add_argument("--anonymise", action="store_true", help="leave patient fields out")
    p.add_argument("--fit", action="store_true",
                   help="fit a hypnogram of another length onto the study by its start time "
                        "(crop what lies outside, pad with Unscored); without it, refused")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=run)


def study_fields(rec) -> dict:
    """Study and patient fields from the recording's header (EDF+ patient subfields)."""
    fields = {"recording": rec.path.name,
              "study_date": rec.start_time.strftime("%Y-%m-%d %H:%M") if rec.start_time else "",
              "duration": f"{rec.duration_sec / 3600:.2f} h ({rec.n_epochs} epochs)"}
    patient = getattr(rec._reader, "patient", "")
    parts = patient.split()
    if len(parts) >= 4:  # EDF+: code sex birthdate name
        fields.update({"patient_id": parts[0], "sex": parts[1], "birthdate": parts[2],
                       "patient_name": " ".join(parts[3:]).replace("_", " ")})
    elif patient:
        fields["patient"] = patient
    return fields


def run(args: argparse.Namespace) -> int:
    from app.commands.hypnogram_fit import fit_to_study
    from app.commands.output_place import writable_file
    from app.core.formats import read_hypnogram
    from app.core.report import write_report
    from app.core.signals.recording import Recording

    writable_file(args.output, "the report")
    rec = Recording.open(args.study)
    hyp = read_hypnogram(args.hypnogram)
    if hyp.epoch_sec != rec.epoch_sec:
        hyp = hyp.resample(rec.epoch_sec)
    hyp = fit_to_study(hyp, rec, args.hypnogram, args.fit)
    model = None
    if args.model_hypnogram:
        model = read_hypnogram(args.model_hypnogram)
        model.check_length(hyp.n_epochs, name=args.model_hypnogram)
    from app.commands.events import read_event_file, study_events

    events = study_events(rec)
    if args.events:
        events += read_event_file(args.events, recording_sec=rec.duration_sec,
                                  channel_names=list(rec.ch_names))
    from app.core.detectors.desaturation import with_measured_drops

    events = with_measured_drops(rec, events)  # a lab's desaturations: drops from SpO2
    from app.config import load_settings

    colors = dict(load_settings().stage_colors)  # the colours the window draws for this user
    out = write_report(args.output, hyp, study=study_fields(rec), anonymise=args.anonymise,
                       model_hypnogram=model, events=events, stage_colors=colors)
    print(f"wrote {out}")
    return 0
