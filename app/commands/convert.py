"""psg-lens convert IN OUT [--to FORMAT]: hypnogram files between formats."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from app.core.formats import FORMATS

    p = sub.add_parser("convert", help="convert a hypnogram between file formats")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--from", dest="src_format", choices=sorted(FORMATS),
                   help="input format (default: detected from the content)")
    p.add_argument("--to", dest="format", choices=sorted(FORMATS),
                   help="output format (default: from the output's extension)")
    p.add_argument("--unknown-as-unscored", action="store_true",
                   help="map labels PSG Lens does not know to Unscored instead of failing")
    p.add_argument("--no-probabilities", action="store_true",
                   help="leave model probabilities out of the output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.formats import read_hypnogram, write_hypnogram

    hyp = read_hypnogram(args.input, format=args.src_format,
                         unknown="unscored" if args.unknown_as_unscored else "raise")
    for w in hyp.meta.get("warnings", []):
        print(f"warning: {w}")
    write_hypnogram(hyp, args.output, format=args.format,
                    include_probabilities=not args.no_probabilities)
    print(f"wrote {args.output}: {hyp.n_epochs} epochs of {hyp.epoch_sec:g} s "
          f"({hyp.meta.get('format', '?')} -> {args.format or 'by extension'})")
    return 0
