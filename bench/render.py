"""Renderer benchmark: render_many vs matplotlib drawing the same epochs, and a whole
night opened and rendered.

    python bench/render.py [--epochs 960] [--mpl-epochs 60]

Prints epochs/s for ours and for matplotlib (Agg, same 336x336 size, same six rows, same
filtered signals), their ratio, and the wall time to open an 8-hour 16-channel 256-Hz
synthetic EDF and render all its epochs. Single process; numpy/scipy as installed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.signals.recording import Recording
from app.core.signals.render import _filter, render_many, resolve_sources, window_bounds
from app.core.signals.render_spec import RenderSpec
from app.core.synth import make_study_file


def matplotlib_epochs(rec: Recording, spec: RenderSpec, epochs, sources) -> float:
    """Draw the same epochs with matplotlib (same filters, rows, size); return seconds."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(spec.width / dpi, spec.height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(len(spec.rows), 1, sharex=True)
    fig.subplots_adjust(0, 0, 1, 1, 0, 0)
    t0 = time.perf_counter()
    for e in epochs:
        a, b = window_bounds(spec, int(e))
        for ax, row, src in zip(axes, spec.rows, sources, strict=True):
            ax.cla()
            ax.set_axis_off()
            if src is None:
                continue
            sig = rec.get_window(a, b, [src])[src.name]
            x = _filter(sig.data[None], sig.sfreq, row, spec)[0]
            p0 = int(spec.filter_pad_sec * sig.sfreq)
            core = x[p0: p0 + int(spec.window_sec * sig.sfreq)]
            ax.plot(core, color=np.asarray(row.color) / 255, linewidth=0.5)
            ax.set_ylim(-row.full_scale_uv, row.full_scale_uv)
        canvas.draw()
        np.asarray(canvas.buffer_rgba())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpl-epochs", type=int, default=60)
    ap.add_argument("--hours", type=float, default=8.0)
    args = ap.parse_args()
    spec = RenderSpec.preset("clinical")  # 336x336, 6 rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.edf"
        t = time.perf_counter()
        make_study_file(path, hours=args.hours, seed=3, montage="full")
        print(f"synthetic night written: {args.hours:g} h, 16 channels, 256 Hz, "
              f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")

        # whole night: open + render every epoch, cold
        t = time.perf_counter()
        rec = Recording.open(path)
        n = 0
        for batch in render_many(rec, spec, batch_size=64):
            n += len(batch)
        whole = time.perf_counter() - t
        print(f"whole night: opened and rendered {n} epochs in {whole:.2f} s "
              f"({len(rec.channels)} channels; target < 5 s)")

        # steady-state throughput, warm cache
        sources = resolve_sources(rec, spec)
        t = time.perf_counter()
        n = sum(len(b) for b in render_many(rec, spec, sources=sources, batch_size=64))
        ours = n / (time.perf_counter() - t)
        epochs = np.linspace(0, rec.n_epochs - 1, args.mpl_epochs).astype(int)
        mpl = len(epochs) / matplotlib_epochs(rec, spec, epochs, sources)
        print(f"render_many   : {ours:8.0f} epochs/s  (336x336, 6 rows, {n} epochs)")
        print(f"matplotlib Agg: {mpl:8.1f} epochs/s  (same rows, size and filters, "
              f"{len(epochs)} epochs)")
        print(f"ratio ours/matplotlib: {ours / mpl:.0f}x  (targets: >= 1000 epochs/s, >= 50x)")


if __name__ == "__main__":
    main()
