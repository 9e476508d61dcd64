"""psg-lens demo: a synthetic 8-h night, opened and scored by the default model.

The study is made once in the user data folder and reused; the model runs only if the
night has no complete run of it yet. Without an installed model the window opens with
a banner saying so, and the night can be scored by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open a synthetic night and score it with the default "
                                    "model (made once in the user data folder)")
    p.add_argument("--hours", type=float, default=8.0, help="length of a new demo night")
    p.add_argument("--seed", type=int, default=7, help="seed of a new demo night")
    p.add_argument("--no-model", action="store_true", help="open it without running a model")
    p.set_defaults(func=run)


def demo_study(hours: float = 8.0, seed: int = 7) -> Path:
    """Make (once) or reuse the demo night; returns its path."""
    from app.config import data_dir
    from app.errors import PSGLensError

    if not 0.1 <= hours <= 24:
        raise PSGLensError(f"--hours must be between 0.1 and 24, not {hours:g}.")
    folder = data_dir() / "demo"
    name = "psg-lens-demo-night.edf" if (hours, seed) == (8.0, 7) else \
        f"psg-lens-demo-{hours:g}h-seed{seed}.edf"
    path = folder / name
    if path.is_file():
        return path
    from app.core.synth import make_study_file

    folder.mkdir(parents=True, exist_ok=True)
    print(f"Making a synthetic {hours:g}-h night (once) in {folder} …", file=sys.stderr)
    tmp = path.with_name(path.name + ".part.edf")
    make_study_file(tmp, hours=hours, seed=seed)
    tmp.replace(path)  # a half-written night is never picked up next time
    return path


def run(args: argparse.Namespace) -> int:
    study = demo_study(args.hours, args.seed)
    from app.gui.app import run_gui

    return run_gui(study, run_model=not args.no_model)
