"""psg-lens gui [STUDY]: the scoring workstation (also what ``psg-lens`` alone opens)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the scoring workstation (optionally a study)")
    p.add_argument("study", nargs="?", help="PSG file to open")
    p.add_argument("--run-model", nargs="?", const="vlm", choices=("vlm", "yasa"),
                   default=None, metavar="ENGINE",
                   help="score the study once it is open: with the chosen model (vlm, the "
                        "default; fused with YASA where the model's card measured YASA, or "
                        "both together, ahead with the study's leads, as psg-lens score "
                        "does) or YASA's second opinion "
                        "(yasa)")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", default=None,
                   help="close the window SECONDS after it is shown (and the --run-model "
                        "run has ended), printing what it showed and what the run scored "
                        "(a smoke test of an installation)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.gui.app import run_gui  # Qt only now: the rest of the CLI stays Qt-free

    return run_gui(args.study, run_model=args.run_model, quit_after=args.quit_after)
