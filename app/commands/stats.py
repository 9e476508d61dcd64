"""psg-lens stats HYPNOGRAM [--json]: the AASM statistics, each with its definition."""

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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.formats import read_hypnogram
    from app.core.scoring.stats import DEFINITIONS, sleep_statistics

    hyp = read_hypnogram(args.hypnogram)
    st = sleep_statistics(hyp, lights_off_epoch=args.lights_off, lights_on_epoch=args.lights_on)
    if args.json:
        print(json.dumps(st.to_dict(), indent=2, default=str))
        return 0
    print(f"{args.hypnogram}: {hyp.n_epochs} epochs of {hyp.epoch_sec:g} s")
    for key, d in DEFINITIONS.items():
        print(f"  {d.label:<42} {st.format(key)}")
        if args.definitions:
            print(f"      {d.text}")
    return 0
