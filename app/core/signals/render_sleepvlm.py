"""The ``sleepvlm`` picture: an epoch drawn the way SleepVLM's own renderer draws it.

SleepVLM (Deng et al. 2026, Qwen2.5-VL-3B fine-tuned on MASS) only reads pictures made
exactly as its renderer makes them (facts in ../shared/notes/sleepvlm.md; matched
against ../shared/data/reference/sleepvlm-render). Unlike PSG Lens' own renderer, the
signal path runs over the WHOLE recording: per channel, a 4th-order zero-phase
Butterworth band-pass (0.3-35 Hz EEG/EOG, 10-100 Hz chin, edges limited to the Nyquist
band, none when the band is empty), a zero-phase IIR notch at 50 Hz (Q 20), then linear
interpolation to 100 Hz, then 30-s epochs. The picture is 448 x 224 on black: one band
per channel PRESENT (F4 yellow, C4 green, O2 red, LOC cyan, ROC magenta, Chin blue,
top to bottom; a missing channel leaves no band), 100 uV (chin 80 uV) per band height,
traces NOT clipped, 0.6-pt anti-aliased lines, 1-s and 5-s grid, band separators.

This is our implementation of those facts (matplotlib's Agg, as theirs uses it, so
anti-aliasing matches); no SleepVLM code is copied.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import signal as sps

CHANNELS = ("F4", "C4", "O2", "LOC", "ROC", "Chin")
SLOT_OF = {"F4": "frontal", "C4": "central", "O2": "occipital", "LOC": "e1", "ROC": "e2",
           "Chin": "chin"}
COLORS = {"F4": "#FFFF00", "C4": "#00FF00", "O2": "#FF0000", "LOC": "#00FFFF",
          "ROC": "#FF00FF", "Chin": "#0000FF"}
HALF_RANGE_UV = {"Chin": 40.0}    # others 50 uV: a band is 100 uV (chin 80 uV) high
WIDTH, HEIGHT, DPI = 448, 224, 100
EPOCH_SEC, RATE = 30.0, 100.0
GRID = "#404040"


def prepare_channel(x: np.ndarray, sfreq: float, name: str) -> np.ndarray:
    """Whole-recording filters then 100-Hz linear resampling (float64 out)."""
    x = np.asarray(x, np.float64)
    lo, hi = (10.0, 100.0) if name == "Chin" else (0.3, 35.0)
    nyq = sfreq / 2.0
    wlo, whi = max(lo / nyq, 1e-3), min(hi / nyq, 0.999)
    if wlo < whi:
        b, a = sps.butter(4, [wlo, whi], btype="bandpass")
        x = sps.filtfilt(b, a, x)
    if 50.0 < nyq:  # a 100-Hz recording cannot hold 50 Hz: nothing to notch
        b, a = sps.iirnotch(50.0, 20.0, sfreq)
        x = sps.filtfilt(b, a, x)
    if abs(sfreq - RATE) >= 0.1:
        n_out = int(round(RATE / sfreq * x.size))
        pos = np.linspace(0, x.size - 1, n_out)
        x = np.interp(pos, np.arange(x.size), x)
    return x


def epochs_of(x100: np.ndarray) -> np.ndarray:
    """(n_epochs, 3000) 30-s epochs of a 100-Hz channel (a trailing partial one dropped)."""
    n = int(EPOCH_SEC * RATE)
    k = x100.size // n
    return x100[: k * n].reshape(k, n)


def render_epoch(traces: Mapping[str, np.ndarray]) -> np.ndarray:
    """Draw one epoch: ``traces`` maps channel name -> 3000 samples (100 Hz, uV); channels
    absent from ``traces`` get no band. Returns (224, 448, 3) uint8."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from PIL import Image

    names = [c for c in CHANNELS if c in traces]
    if not names:
        raise ValueError("A SleepVLM picture needs at least one of "
                         f"{', '.join(CHANNELS)}.")
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    fig.patch.set_facecolor("black")
    ax = fig.add_subplot(111)
    ax.set_facecolor("black")
    band = 1.0 / len(names)
    for i, name in enumerate(names):
        y = np.asarray(traces[name], np.float64)
        half = HALF_RANGE_UV.get(name, 50.0)
        t = np.linspace(0, EPOCH_SEC, y.size)
        centre = (len(names) - i - 0.5) * band
        ax.plot(t, centre + y / (2 * half) * band, color=COLORS[name], linewidth=0.6,
                antialiased=True)
    for s in range(1, int(EPOCH_SEC)):
        major = s % 5 == 0
        ax.axvline(x=s, color=GRID, alpha=0.8 if major else 0.6,
                   linewidth=0.8 if major else 0.5, linestyle="-")
    for i in range(1, len(names)):
        ax.axhline(y=i * band, color=GRID, alpha=0.8, linewidth=0.8, linestyle="-")
    ax.set_xlim(0, EPOCH_SEC)
    ax.set_ylim(0, 1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="black", bbox_inches="tight", pad_inches=0,
                dpi=DPI)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        img = np.asarray(im.convert("RGB"))
    if img.shape[:2] != (HEIGHT, WIDTH):  # 'tight' can shave a pixel: keep the size fixed
        img = np.asarray(Image.fromarray(img).resize((WIDTH, HEIGHT), Image.BILINEAR))
    return img


_POOL = None


def _pool():
    """One pool of spawned processes for the session (matplotlib draws ~0.1 s an epoch:
    a GPU reading these pictures must not wait for one core)."""
    global _POOL
    if _POOL is None:
        import atexit
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        n = max(1, min(8, (os.cpu_count() or 2) - 1))
        _POOL = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
        # shut it down while the interpreter is whole: at teardown its weakref callback
        # prints "'NoneType' object has no attribute 'util'"
        atexit.register(_POOL.shutdown, wait=True, cancel_futures=True)
    return _POOL


def render_epochs(channels: Mapping[str, np.ndarray], epochs: Sequence[int], *,
                  parallel: bool | None = None) -> np.ndarray:
    """(n, 224, 448, 3) for ``epochs`` of prepared channels (name -> (n_epochs, 3000)).

    ``parallel``: draw in worker processes (default: when there are 16 epochs or more
    and more than one core).
    """
    import os

    jobs = [{k: v[e] for k, v in channels.items()} for e in epochs]
    if parallel is None:
        parallel = len(jobs) >= 16 and (os.cpu_count() or 1) > 1
    if not parallel:
        return np.stack([render_epoch(j) for j in jobs])
    return np.stack(list(_pool().map(render_epoch, jobs, chunksize=4)))


def prepared(recording, spec, sources: Sequence) -> dict[str, np.ndarray]:
    """Every present row's channel, filtered over the whole recording and cut into
    100-Hz epochs (kept on the recording: the filters run once per night)."""
    cache = recording.__dict__.setdefault("_sleepvlm", {})
    key = tuple(None if s is None else (s.plus, s.minus, s.inverted, s.gain) for s in sources)
    if key not in cache:
        out = {}
        for row, src in zip(spec.rows, sources, strict=True):
            if src is None:
                continue
            sig = recording.get_window(0.0, recording.duration_sec, [src])[src.name]
            x = np.nan_to_num(sig.data, nan=0.0, posinf=0.0, neginf=0.0)
            out[row.label] = epochs_of(prepare_channel(x, sig.sfreq, row.label))
        cache.clear()  # one mapping at a time: a night's six channels are ~70 MB
        cache[key] = out
    return cache[key]
