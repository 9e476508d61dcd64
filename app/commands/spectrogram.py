"""psg-lens spectrogram STUDY [--channel C] [--hypnogram H] -o spec.png: the whole-night
multitaper spectrogram of one EEG channel, with the hypnogram under it.

The spectrogram is :func:`app.core.signals.spectrogram.night_spectrogram` (one 30-s
window per epoch, DPSS tapers, 0.5-25 Hz, dB), kept in the night cache so a second run
on the same study is quick. The hypnogram is ``--hypnogram``, else the technician's
scoring in the study's session; without either the spectrogram is drawn alone. The
output place, the channel and the hypnogram are checked before the night is read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

from app.errors import PSGLensError

# rows of the hypnogram, top to bottom as AASM plots are read: W, REM, N1, N2, N3
_ROWS = {0: 4, 4: 3, 1: 2, 2: 1, 3: 0}
_ROW_LABELS = ("N3", "N2", "N1", "REM", "W")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spectrogram", help="whole-night multitaper spectrogram (PNG) with "
                                           "the hypnogram under it",
                       description="Draw the multitaper spectrogram of one EEG channel over "
                                   "the whole night (30-s windows, DPSS tapers, 0.5-25 Hz, "
                                   "dB; Prerau et al. 2017) with the hypnogram under it.")
    p.add_argument("study", help="EDF, EDF+, BDF or another file MNE reads")
    p.add_argument("--channel", help="channel name, or 'A - B' for a subtraction (default: "
                                     "the central derivation, C4-M1 or its substitute)")
    p.add_argument("--hypnogram", help="stages to draw under it (default: the technician's "
                                       "scoring in the study's session, if any)")
    p.add_argument("--fit", action="store_true",
                   help="fit a hypnogram of another length onto the study by its start time")
    p.add_argument("--no-cache", action="store_true",
                   help="compute again and do not keep the result in the cache folder")
    p.add_argument("-o", "--output", required=True, help="the picture to write (.png)")
    p.set_defaults(func=run)


def check_output(path: str) -> Path:
    """The PNG to write, refused in one sentence before any reading."""
    from app.commands.output_place import writable_file

    out = Path(path).expanduser()
    if out.suffix.lower() != ".png":
        raise PSGLensError(f"Cannot write {out.name}: the spectrogram is written as a PNG; "
                           "give a file name ending in .png.")
    if not out.parent.is_dir():
        raise PSGLensError(f"Cannot write {out}: the folder {out.parent} does not exist; "
                           "create it or choose another place.")
    return writable_file(out, "the spectrogram")


def session_hypnogram(rec):
    """The technician's hypnogram in the study's session; None without one or unscored.

    A session another program holds is read for review, never taken from it."""
    from app.core.scoring.session import ScoringSession
    from app.core.scoring.study_identity import session_path_for

    if not Path(rec.path).is_file() or not session_path_for(rec.path).exists():
        return None
    with ScoringSession.open(rec.path, n_epochs=rec.n_epochs, epoch_sec=rec.epoch_sec,
                             start_time=rec.start_time, review_if_locked=True) as s:
        hyp = s.technician_hypnogram()
    return hyp if (hyp.stages >= 0).any() else None


def run(args: argparse.Namespace) -> int:
    from app.commands.hypnogram_fit import fit_to_study
    from app.core.signals import spectrogram as spectra
    from app.core.signals.recording import Recording

    out = check_output(args.output)
    rec = Recording.open(args.study)
    src = spectra.spectrogram_source(rec, args.channel)
    hyp, hyp_from = None, "none (no --hypnogram and no scored session)"
    if args.hypnogram:
        from app.core.formats import read_hypnogram

        hyp = read_hypnogram(args.hypnogram)
        if hyp.epoch_sec != rec.epoch_sec:
            hyp = hyp.resample(rec.epoch_sec)
        hyp, hyp_from = fit_to_study(hyp, rec, args.hypnogram, args.fit), args.hypnogram
    else:
        hyp = session_hypnogram(rec)
        if hyp is not None:
            hyp_from = "the technician's scoring in the study's session"
    t0 = time.perf_counter()
    spec = spectra.night_spectrogram(rec, src, cache=not args.no_cache)
    took = "from the cache" if spec.from_cache else f"computed in {time.perf_counter() - t0:.1f} s"
    size = write_png(spec, hyp, out, title=f"{rec.path.name}: {spec.channel}")
    derivation = src.plus + (f" - {src.minus}" if src.minus else "")
    print(f"channel: {spec.channel} <- {derivation} ({spec.sfreq:g} Hz)")
    print(f"spectrogram: {spec.n_epochs} epochs x {spec.freqs.size} frequencies, "
          f"{spec.freqs[0]:g}-{spec.freqs[-1]:g} Hz, NW={spec.nw:g}, {spec.n_tapers} tapers "
          f"({took})")
    print(f"hypnogram: {hyp_from}")
    print(f"wrote {out} ({size[0]}x{size[1]})")
    return 0


def _time_axis(ax, n_epochs: int, epoch_sec: float, start: dt.datetime | None) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    hours = n_epochs * epoch_sec / 3600.0
    ax.set_xlim(0, hours)
    step = 1.0 if hours > 3 else (0.5 if hours > 1 else 0.25)
    if start is not None:
        first = (60 - start.minute - start.second / 60) % 60 / 60.0 % step
        ax.set_xticks(np.arange(first, hours + 1e-9, step))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda h, _: (start + dt.timedelta(hours=float(h))).strftime("%H:%M")))
        ax.set_xlabel("Clock time")
    else:
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.set_xlabel("Hours from the start of the recording")


def write_png(spec, hyp, out: Path, *, title: str) -> tuple[int, int]:
    """Draw the spectrogram (and the hypnogram under it) to ``out``; (width, height) px."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from app.core.scoring.stage_colors import DEFAULT_STAGE_COLORS

    fig = Figure(figsize=(12, 5.6 if hyp is not None else 4.2), dpi=100)
    FigureCanvasAgg(fig)
    heights = [3.0, 1.1] if hyp is not None else [1.0]
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[60, 1],
                            hspace=0.12, wspace=0.02, left=0.07, right=0.94, top=0.92,
                            bottom=0.12 if hyp is not None else 0.16)
    ax = fig.add_subplot(grid[0, 0])
    db = np.ma.masked_invalid(spec.power_db.T)
    finite = spec.power_db[np.isfinite(spec.power_db)]
    # robust colour limits (5th-95th percentile), as Prerau et al. draw whole nights
    lo, hi = (np.percentile(finite, [5, 95]) if finite.size else (0.0, 1.0))
    hours = spec.n_epochs * spec.epoch_sec / 3600.0
    img = ax.imshow(db, aspect="auto", origin="lower", cmap="turbo", vmin=lo, vmax=hi,
                    interpolation="nearest",
                    extent=(0, hours, float(spec.freqs[0]), float(spec.freqs[-1])))
    ax.set_ylabel("Frequency (Hz)")
    ax.set_title(f"{title} - multitaper spectrogram (30-s windows, NW={spec.nw:g}, "
                 f"{spec.n_tapers} DPSS tapers)", loc="left", fontsize=10, parse_math=False)
    bar = fig.colorbar(img, cax=fig.add_subplot(grid[0, 1]))
    bar.set_label("Power (dB re 1 uV²/Hz)")
    _time_axis(ax, spec.n_epochs, spec.epoch_sec, spec.start_time)
    if hyp is not None:
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
        hx = fig.add_subplot(grid[1, 0], sharex=ax)
        stages = np.asarray(hyp.stages, int)[: spec.n_epochs]
        y = np.array([_ROWS.get(int(s), np.nan) for s in stages], float)
        edges = np.arange(y.size + 1) * hyp.epoch_sec / 3600.0
        # NaN breaks the line: unscored and artifact epochs are gaps, never Wake
        hx.step(edges, np.append(y, y[-1] if y.size else np.nan), where="post",
                color="0.2", lw=0.9)
        rem = np.flatnonzero(stages == 4)
        hx.hlines(np.full(rem.size, _ROWS[4]), edges[rem], edges[rem + 1],
                  color=DEFAULT_STAGE_COLORS["REM"], lw=3.0)
        hx.set_ylim(-0.6, 4.6)
        hx.set_yticks(range(5), list(_ROW_LABELS))
        hx.grid(axis="x", color="0.9", lw=0.6)
        _time_axis(hx, spec.n_epochs, spec.epoch_sec, spec.start_time)
    tmp = out.with_name(out.name + ".part")
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PSGLensError(f"Cannot write {out}: {err.strerror or err}.") from err
    w, h = fig.canvas.get_width_height()
    return int(w), int(h)
