"""psg-lens explain: why the model staged one epoch as it did, as a picture and a table.

Writes the epoch's picture (the one the model reads) with the heatmap laid over it and
a colour legend, and prints each channel's share of the importance and the stretches
that mattered most. ``--stage`` explains another stage ("why not N3?"). A run predicted
to be long (a 7B model on a CPU) says so first; Ctrl-C stops it.

Examples
--------
    psg-lens explain night.edf --epoch 120 -o why.png
    psg-lens explain night.edf --epoch 120 --stage N3 --method ig -o why-not-n3.png
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from app.errors import PSGLensError, StudyError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="heatmap of what made the model choose a stage",
                       description="Explain the model's stage for one epoch: the picture it "
                                   "read with a heatmap of what mattered, and a per-channel "
                                   "table. Decision support only.")
    p.add_argument("study", metavar="STUDY", help="PSG file")
    p.add_argument("--epoch", type=int, required=True, help="epoch number, from 1 (as the window and the CSV number them)")
    p.add_argument("--method", default="ablation",
                   help="ablation (default, the paper's), occlusion, ig or rollout")
    p.add_argument("--stage", help="stage to explain (W, N1, N2, N3, REM); default: the "
                                   "predicted one")
    p.add_argument("--model", help="model bundle folder (default: the embedded model)")
    p.add_argument("-o", "--output", help="picture to write (.png, .jpg, ...)")
    p.add_argument("--zoom", type=int, default=0,
                   help="enlarge the picture this many times (default: to ~700 px)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda[:N] or mps")
    p.add_argument("--dtype", help="float32, float16 or bfloat16 (default: by device)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="perturbed pictures per forward pass")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check_output(text: str | None) -> Path:
    if not text:
        raise PSGLensError("Say where to write the picture: -o heatmap.png.")
    out = Path(text)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise PSGLensError(f"{out.name} is not a picture file name; use one ending in "
                           f"{', '.join(IMAGE_SUFFIXES[:3])}.")
    return out


def make_engine(args: argparse.Namespace):
    from app.commands.score import default_model_path
    from app.core.inference.engine import StageEngine
    from app.errors import ModelError

    bundle = args.model or default_model_path()
    if not args.model and not Path(bundle).is_dir():
        raise ModelError(f"The embedded default model is not installed (no bundle at "
                         f"{bundle}); pass a model bundle with --model BUNDLE.")
    return StageEngine(bundle, device=args.device, dtype=args.dtype,
                       batch_size=args.batch_size)


def compose(ex, zoom: int = 0):
    """The overlay with a legend strip on the right, as a uint8 RGB array."""
    import numpy as np

    from app.core.explain.mapping import colorbar, overlay

    h, w = ex.image.shape[:2]
    zoom = zoom if zoom > 0 else max(1, round(700 / max(h, w)))
    pic = overlay(ex.image, ex.heatmap, zoom=zoom)
    gap = np.full((pic.shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([pic, gap, colorbar(pic.shape[0], max(8, 4 * zoom))], axis=1)


def report(ex, *, study: str = "") -> str:
    probs = "  ".join(f"{s} {p:.2f}" for s, p in
                      zip(("W", "N1", "N2", "N3", "REM"), ex.probabilities))
    head = (f"{study} epoch {ex.epoch + 1}: model says {ex.predicted.label} ({probs}); "
            f"explained {ex.stage_label} with {ex.method} in {ex.seconds:.1f} s.")
    lines = [head.strip(), "", ex.table(), ""]
    if ex.top_regions:
        lines.append("What mattered most: " + "; ".join(ex.top_regions) + ".")
    lines += [f"note: {n}" for n in ex.notices]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from app.core.explain import (
        ExplainCostWarning,
        estimate_cost,
        explain_epoch,
        resolve_stage,
    )
    from app.core.explain.methods import check_method
    from app.core.signals.recording import Recording

    out = _check_output(args.output)
    method = check_method(args.method)  # bad input fails before the model loads
    resolve_stage(args.stage)
    if args.batch_size < 1:
        raise PSGLensError(f"--batch-size must be at least 1, not {args.batch_size}.")
    study = Path(args.study)
    if not study.is_file():
        raise StudyError(f"There is no file at {study}.")
    rec = Recording.open(study)
    index = rec.epoch_index(args.epoch)
    engine = make_engine(args)
    est = estimate_cost(engine, method)
    if est.warning and not args.quiet:
        print(f"note: {est.warning} Press Ctrl-C to stop.", file=sys.stderr)
    bar = _progress_bar(args.quiet, f"{method} epoch {args.epoch}")
    try:
        with warnings.catch_warnings():  # the estimate was printed above, once
            warnings.simplefilter("ignore", ExplainCostWarning)
            ex = explain_epoch(engine, rec, index, method=method, stage=args.stage,
                               progress=bar.update_to if bar else None)
    finally:
        if bar:
            bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        Image.fromarray(compose(ex, args.zoom)).save(out)
    except (OSError, ValueError) as err:
        raise PSGLensError(f"Cannot write {out}: {err}.") from err
    print(report(ex, study=study.name))
    if not args.quiet:
        print(f"heatmap -> {out}", file=sys.stderr)
    return 0


def _progress_bar(quiet: bool, desc: str):
    if quiet:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        def update_to(self, done: int, total: int) -> None:
            self.total = total
            self.update(done - self.n)

    return Bar(total=1, desc=desc, unit="pass", file=sys.stderr, leave=False,
               dynamic_ncols=True)
