"""psg-lens render STUDY --epoch N -o epoch.png: the picture the model reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.signals.recording import Recording
from app.core.signals.render import render_epoch, resolve_sources
from app.core.signals.render_spec import RenderSpec
from app.errors import PSGLensError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="draw one epoch as the model sees it (PNG or JPEG)")
    p.add_argument("study")
    p.add_argument("--epoch", type=int, required=True, help="epoch number, from 1 (as the window and the CSV number them)")
    p.add_argument("--spec", default="clinical",
                   help="render preset (clinical, paper) or a spec JSON file")
    p.add_argument("-o", "--output", required=True,
                   help="picture to write: .png (exactly what the model reads) or .jpg")
    p.set_defaults(func=run)


# the extension says the format; PNG is lossless (what the model reads, pixel for pixel)
FORMATS = {".png": ("PNG", {}), ".jpg": ("JPEG", {"quality": 95}),
           ".jpeg": ("JPEG", {"quality": 95})}


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    out = Path(args.output)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:  # before any reading or drawing
        raise PSGLensError(f"Cannot write {out.name}: give a .png (lossless, what the model "
                           "reads) or a .jpg file.")
    if not out.parent.is_dir():
        raise PSGLensError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    rec = Recording.open(args.study)
    spec = RenderSpec.load(args.spec)
    index = rec.epoch_index(args.epoch)
    sources = resolve_sources(rec, spec)
    img = render_epoch(rec, spec, index, sources)
    try:
        tmp = out.with_name(out.name + ".part")
        Image.fromarray(img).save(tmp, format=fmt[0], **fmt[1])
        tmp.replace(out)
    except OSError as err:
        raise PSGLensError(f"Cannot write {out}: {err.strerror or err}.") from err
    for row, src in zip(spec.rows, sources, strict=True):
        filled = "missing (dashed)" if src is None else src.plus + (
            f" - {src.minus}" if src.minus else "")
        print(f"{row.label:<8} <- {filled}")
    print(f"wrote {out} ({spec.width}x{spec.height}, spec {spec.name!r})")
    return 0
