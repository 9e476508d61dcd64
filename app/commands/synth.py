"""psg-lens synth: a labelled synthetic PSG written as EDF+ (for demos, tests, training)."""

from __future__ import annotations

import argparse
import csv
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
    p.add_argument("--events", help="also write the planted events (TSV) to this file")
    p.add_argument("-o", "--output", required=True, help="EDF file to write")
    p.set_defaults(func=run)


MAX_HOURS = 48.0  # two nights: longer is a typo, and hours of memory and CPU


def run(args: argparse.Namespace) -> int:
    from app.commands.output_place import writable_file
    from app.core.synth import synthesize, write_edf

    if not args.hypnogram and not (0 < args.hours <= MAX_HOURS):  # NaN fails too
        raise PSGLensError(f"--hours must be more than 0 and at most {MAX_HOURS:g}, not "
                           f"{args.hours:g}.")
    writable_file(args.output, "the synthetic study")
    if args.events:
        writable_file(args.events, "the planted events")
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
                           seed=args.seed, montage=args.montage, varied=args.varied)
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
    if args.events:
        with open(args.events, "w", newline="") as f:
            w = csv.writer(f, delimiter="\t")
            w.writerow(["kind", "channel", "onset", "duration", "epoch"])
            for e in study.events:
                w.writerow([e.kind, e.channel, f"{e.onset:.3f}", f"{e.duration:.3f}", e.epoch])
    counts = {lab: int((study.stages == k).sum()) for k, lab in
              enumerate(["W", "N1", "N2", "N3", "REM"])}
    rates = "/".join(f"{r:g}" for r in sorted({c.sfreq for c in study.channels}, reverse=True))
    print(f"wrote {out}: {study.n_epochs} epochs, {len(study.ch_names)} channels at "
          f"{rates} Hz, seed {args.seed}; stages {counts}; "
          f"{len(study.events)} planted events")
    return 0
