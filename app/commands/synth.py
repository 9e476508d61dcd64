"""psg-lens synth: a labelled synthetic PSG written as EDF+ (for demos, tests, training)."""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from app.errors import PSGLensError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write a synthetic PSG (EDF+) with known stages")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--hypnogram", help="drive the night with this hypnogram file "
                                         "(any format psg-lens reads)")
    src.add_argument("--hours", type=float, default=8.0,
                     help="length of a night whose stages are sampled as real nights are")
    p.add_argument("--seed", type=int, default=0, help="same seed, same file")
    from app.core.synth.montages import MONTAGES

    p.add_argument("--montage", default="aasm", choices=sorted(MONTAGES),
                   help="channels as a lab records them (default: aasm)")
    p.add_argument("--varied", action="store_true",
                   help="draw the person and the lab from real-world spread: age, alpha, "
                        "gains 0.5-2x, 50-512 Hz, analog filters, inverted leads, artefacts")
    p.add_argument("--quiet-wake", action="store_true",
                   help="the person lies awake quietly: about half the waking beta, alpha "
                        "and scalp muscle, as in real Sleep-EDF wake; sleep is unchanged")
    p.add_argument("--apnea-index", type=float, default=0.0, metavar="A",
                   help="plant respiratory events (obstructive, central and mixed apneas, "
                        "hypopneas; 0-120) per hour of sleep, with their desaturations and "
                        "arousals; adds the flow, nasal pressure, effort, SpO2 and position "
                        "channels the montage lacks")
    p.add_argument("--plm-index", type=float, default=0.0, metavar="P",
                   help="plant periodic limb movements (0-150) per hour of sleep, and a few "
                        "isolated ones, on Leg L / Leg R (or the montage's LAT / RAT)")
    p.add_argument("--arousal-index", type=float, default=0.0, metavar="R",
                   help="plant spontaneous arousals (0-100) per hour of sleep; respiratory "
                        "events bring arousals of their own")
    p.add_argument("--events", help="also write the planted events to this file: a .json "
                                    "name gets the ground truth of the scored events (a JSON "
                                    "list of events), any other a TSV of everything planted, "
                                    "waveforms too")
    p.add_argument("-o", "--output", required=True, help="EDF file to write")
    p.set_defaults(func=run)


MAX_HOURS = 48.0  # two nights: longer is a typo, and hours of memory and CPU


def run(args: argparse.Namespace) -> int:
    from app.commands.output_place import writable_file
    from app.core.synth import EventIndices, synthesize, write_edf

    if not args.hypnogram and not (0 < args.hours <= MAX_HOURS):  # NaN fails too
        raise PSGLensError(f"--hours must be more than 0 and at most {MAX_HOURS:g}, not "
                           f"{args.hours:g}.")
    indices = EventIndices(apnea=args.apnea_index, plm=args.plm_index,
                           arousal=args.arousal_index)
    writable_file(args.output, "the synthetic study")
    truth_path = truth_file(args.output, args.events, indices)
    if args.events:
        writable_file(args.events, "the planted events")
    if truth_path is not None and str(truth_path) != args.events:
        writable_file(truth_path, "the planted events' ground truth")
    stages = None
    if args.hypnogram:
        from app.core.formats import read_hypnogram

        hyp = read_hypnogram(args.hypnogram)
        if hyp.epoch_sec != 30:
            hyp = hyp.resample(30.0)
        stages = hyp.stages.copy()
        stages[stages < 0] = 0  # unscored/artifact epochs are drawn as wake
    try:
        study = synthesize(stages, hours=None if stages is not None else args.hours,
                           seed=args.seed, montage=args.montage, varied=args.varied,
                           quiet_wake=args.quiet_wake,
                           indices=indices if indices.any else None)
    except ValueError as err:
        raise PSGLensError(str(err)) from err
    out = Path(args.output)
    tmp = out.with_name(out.name + ".part")
    try:
        write_edf(study, tmp)
        os.replace(tmp, out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PSGLensError(f"Cannot write {out}: {err.strerror or err}.") from err
    if args.events and truth_path != Path(args.events):
        _write_tsv(study, args.events)
    if truth_path is not None:
        with open(truth_path, "w") as f:  # one event a line: easy to grep and to diff
            f.write("[\n" + ",\n".join(json.dumps(e.to_dict()) for e in study.truth)
                    + ("\n]\n" if study.truth else "]\n"))
    counts = {lab: int((study.scored_stages == k).sum()) for k, lab in
              enumerate(["W", "N1", "N2", "N3", "REM"])}
    rates = "/".join(f"{r:g}" for r in sorted({c.sfreq for c in study.channels}, reverse=True))
    print(f"wrote {out}: {study.n_epochs} epochs, {len(study.ch_names)} channels at "
          f"{rates} Hz, seed {args.seed}; stages {counts}; "
          f"{len(study.events)} planted events")
    relabelled = int((study.scored_stages != study.stages).sum())
    if relabelled:
        print(f"{relabelled} N3 epochs of the drive came out with slow waves under the "
              "AASM 20 % rule at F4-M1 and are annotated N2, as a scorer would score them")
    if truth_path is not None:
        print(f"planted {truth_summary(study, indices)}; ground truth in {truth_path}")
    return 0


def truth_file(output: str, events: str | None, indices) -> Path | None:
    """Where the ground truth goes: ``--events`` when it names a .json file, else beside
    the study (night.edf -> night.events.json) when events are planted, else nowhere."""
    if events and events.lower().endswith(".json"):
        return Path(events)
    if indices.any:
        out = Path(output)
        return out.with_name(out.stem + ".events.json")
    return None


def truth_summary(study, indices) -> str:
    """The planted events counted, with the indices they make per hour of sleep beside
    those asked (a night too short or too full for them plants fewer)."""
    hours = float((study.stages >= 1).sum()) * study.epoch_sec / 3600.0

    def rate(k: int, asked: float) -> str:
        got = f"{k / hours:.1f}/h" if hours > 0 else "-"
        return f"{got}, asked {asked:g}" if asked else got

    truth = study.truth
    resp = sum(e.type.is_respiratory for e in truth)
    desat = sum(e.type.value == "desaturation" for e in truth)
    arousals = [e for e in truth if e.type.value == "arousal"]
    spont = sum(e.detail.get("cause") == "spontaneous" for e in arousals)
    lms = [e for e in truth if e.type.is_limb]
    plm = sum(e.detail.get("series") is not None for e in lms)
    moves = sum(e.type.value == "position_change" for e in truth)
    return (f"{resp} respiratory events (AHI {rate(resp, indices.apnea)}), {desat} "
            f"desaturations, {len(arousals)} arousals ({spont} spontaneous: "
            f"{rate(spont, indices.arousal)}), {len(lms)} limb movements ({plm} in series: "
            f"PLMI {rate(plm, indices.plm)}), {moves} position changes, in {hours:.2f} h "
            "of sleep")


def _write_tsv(study, path: str) -> None:
    """Every planted event, one row each: the waveforms, then (merged by onset) the
    scored events of the ground truth under their type's name."""
    rows = [(e.onset, e.kind, e.channel, e.duration, e.epoch) for e in study.events]
    rows += [(e.onset, e.type.value, ",".join(e.channels), e.duration,
              int(e.onset // study.epoch_sec)) for e in study.truth]
    rows.sort(key=lambda r: r[0])
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["kind", "channel", "onset", "duration", "epoch"])
        for onset, kind, channel, duration, epoch in rows:
            w.writerow([kind, channel, f"{onset:.3f}", f"{duration:.3f}", epoch])
