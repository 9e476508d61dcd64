"""THE signal-to-image function, used by the viewer, the engine and training alike.

Pipeline for one row: the window's samples (scored epoch, its context, plus
``filter_pad_sec`` on each side) -> NaN/inf masked -> zero-phase AASM filters ->
padding cropped -> per-pixel-column min/max envelope (joined to the neighbouring
column, so it reads as a line) -> scaled into the row -> vertical segments painted.

``render_many`` runs the same per-epoch computation on a stack of epochs at once
(``sosfiltfilt`` and ``reduceat`` along the last axis), so an epoch renders to the same
bytes alone or in a batch: training/inference parity is a property of the code.

Examples
--------
>>> import numpy as np
>>> spec = RenderSpec.preset("clinical")
>>> rows = [(np.random.default_rng(0).normal(0, 20, 40 * 256), 256.0)] * 6
>>> render(rows, spec).shape
(336, 336, 3)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft
from scipy import signal as sps

from app.core.signals.render_spec import KIND_DEFAULTS, RenderSpec, RowSpec  # noqa: F401 (re-export)

#: A row's input: samples covering the padded window, and their rate; None = missing.
RowInput = tuple[np.ndarray, float] | None


@dataclass(frozen=True)
class Band:
    """A horizontal strip of the image: one channel row, or one fold of it."""

    row: int
    fold: int
    y0: int
    y1: int
    t0: float  # seconds from the scored epoch's onset at the band's left edge
    t1: float


@dataclass(frozen=True)
class Layout:
    """Maps pixels to (channel row, seconds from the scored epoch's onset) and back."""

    spec: RenderSpec
    bands: tuple[Band, ...]
    row_of_y: np.ndarray      # (H,) row index per pixel row, -1 between rows
    time_of_pixel: np.ndarray  # (H, W) seconds (NaN between rows)

    def pixel_to_channel_time(self, y: int, x: int) -> tuple[int, float]:
        return int(self.row_of_y[y]), float(self.time_of_pixel[y, x])

    def channel_time_to_pixels(self, row: int, t0: float, t1: float) -> np.ndarray:
        """Boolean (H, W) mask of the pixels that show ``row`` during [t0, t1) s."""
        t = self.time_of_pixel
        return (self.row_of_y[:, None] == row) & (t >= t0) & (t < t1)

    def channel_time_grid(self, heat: np.ndarray, bin_sec: float = 1.0
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Sum a (H, W) pixel map into (n_rows, n_bins) over time bins of ``bin_sec``.

        Returns the grid and the bins' left edges (seconds from the scored onset).
        """
        spec = self.spec
        start = -spec.context_epochs * spec.epoch_sec
        n_bins = int(np.ceil(spec.window_sec / bin_sec))
        valid = self.row_of_y[:, None].repeat(spec.width, 1) >= 0
        rows = self.row_of_y[:, None].repeat(spec.width, 1)[valid]
        bins = np.clip(((self.time_of_pixel[valid] - start) // bin_sec).astype(int), 0,
                       n_bins - 1)
        grid = np.zeros((len(spec.rows), n_bins))
        np.add.at(grid, (rows, bins), np.asarray(heat, float)[valid])
        return grid, start + np.arange(n_bins) * bin_sec


@lru_cache(maxsize=32)
def _layout_cached(spec_json: str) -> Layout:
    spec = RenderSpec.from_json(spec_json)
    n_bands = len(spec.rows) * spec.fold
    edges = np.round(np.linspace(0, spec.height, n_bands + 1)).astype(int)
    span = spec.window_sec / spec.fold
    start = -spec.context_epochs * spec.epoch_sec
    bands, row_of_y = [], np.full(spec.height, -1, np.int32)
    time_of_pixel = np.full((spec.height, spec.width), np.nan)
    col_t = (np.arange(spec.width) + 0.5) / spec.width * span
    for b in range(n_bands):
        row, fold = divmod(b, spec.fold)
        y0, y1 = int(edges[b]), int(edges[b + 1])
        t0 = start + fold * span
        bands.append(Band(row, fold, y0, y1, t0, t0 + span))
        row_of_y[y0:y1] = row
        time_of_pixel[y0:y1] = t0 + col_t
    return Layout(spec, tuple(bands), row_of_y, time_of_pixel)


def layout(spec: RenderSpec) -> Layout:
    """The pixel <-> (channel row, time) map of ``spec`` (cached)."""
    return _layout_cached(spec.to_json())


# -- signal processing ----------------------------------------------------------------
def usable_filters(highpass_hz: float | None, lowpass_hz: float | None, sfreq: float
                   ) -> tuple[float | None, float | None]:
    """The filter edges a channel sampled at ``sfreq`` can apply: none at or above 0.9 x
    Nyquist (a 100-Hz low-pass on a 200-Hz chin is no low-pass). The renderer, the trace
    view's montage rows and the montage-versus-spec comparison all use this one rule.

    Examples
    --------
    >>> usable_filters(10.0, 100.0, 256.0), usable_filters(10.0, 100.0, 200.0)
    ((10.0, 100.0), (10.0, None))
    >>> usable_filters(10.0, 100.0, 1.0)
    (None, None)
    """
    edge = 0.9 * sfreq / 2
    return (highpass_hz if highpass_hz and highpass_hz < edge else None,
            lowpass_hz if lowpass_hz and lowpass_hz < edge else None)


@lru_cache(maxsize=64)
def _gain(sfreq: float, n: int, hp: float | None, lp: float | None, notch: float | None
          ) -> np.ndarray | None:
    """|H(f)|^2 of the AASM Butterworth filters on the rfft grid of n samples."""
    nyq = sfreq / 2
    hp, lp = usable_filters(hp, lp, sfreq)  # EMG 100 Hz needs > 222 Hz sampling
    sos = []
    if hp and lp:
        sos.append(sps.butter(2, [hp, lp], "bandpass", fs=sfreq, output="sos"))
    elif hp:
        sos.append(sps.butter(2, hp, "highpass", fs=sfreq, output="sos"))
    elif lp:
        sos.append(sps.butter(2, lp, "lowpass", fs=sfreq, output="sos"))
    if notch and notch < nyq * 0.95:
        sos.append(sps.tf2sos(*sps.iirnotch(notch, 30.0, fs=sfreq)))
    if not sos:
        return None
    _, h = sps.sosfreqz(np.concatenate(sos), worN=sp_fft.rfftfreq(n, 1 / sfreq), fs=sfreq)
    return (np.abs(h) ** 2).astype(np.float32)


def _filter(x: np.ndarray, sfreq: float, row: RowSpec, spec: RenderSpec) -> np.ndarray:
    """Zero-phase filter along the last axis, NaN/inf kept out of the arithmetic.

    Applies the Butterworth's |H(f)|^2 in the frequency domain: the response filtfilt
    gives, at a fraction of its cost. The circular wrap at the window's ends decays
    inside the ``filter_pad_sec`` padding, which is cropped before drawing.
    """
    return filter_signal(x, sfreq, row.highpass_hz, row.lowpass_hz, spec.notch_hz)


def filter_signal(x: np.ndarray, sfreq: float, highpass_hz: float | None,
                  lowpass_hz: float | None, notch_hz: float | None = None) -> np.ndarray:
    """The renderer's AASM filter for other viewers (the GUI's trace view): float32 out.

    Same zero-phase Butterworth response as the images; pad the window by a few
    seconds each side and crop after, as the renderer does.
    """
    with np.errstate(over="ignore"):  # beyond float32's range is not a signal: undrawn
        x = np.asarray(x, np.float32)
    bad = ~np.isfinite(x)
    has_bad = bool(bad.any())
    if has_bad:
        x = np.where(bad, np.float32(0), x)
    n = x.shape[-1]
    gain = _gain(float(sfreq), n, highpass_hz, lowpass_hz, notch_hz)
    if gain is not None and n >= 8:
        x = x - x.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
        x = sp_fft.irfft(sp_fft.rfft(x, axis=-1) * gain, n=n, axis=-1)
    if has_bad:
        x = np.where(bad, np.float32(np.nan), x)
    return x


def _envelope(x: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (min, max) of (..., N) samples over ``n_cols`` columns, joined up."""
    n = x.shape[-1]
    idx = (np.arange(n_cols) * n) // n_cols
    lo = np.fmin.reduceat(x, idx, axis=-1)
    hi = np.fmax.reduceat(x, idx, axis=-1)
    last = x[..., np.append(idx[1:], n) - 1]  # each column's last sample
    prev = np.concatenate([lo[..., :1], last[..., :-1]], axis=-1)
    lo2, hi2 = np.fmin(lo, prev), np.fmax(hi, prev)
    return lo2, hi2


def _scale(lo: np.ndarray, hi: np.ndarray, row: RowSpec, spec: RenderSpec,
           rng: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Map values to [-1, 1] (row half-heights); clipped, NaN kept.

    ``rng`` is each epoch's (min, max) over the whole row, for minmax scaling.
    """
    if spec.scaling == "physical":
        s = 1.0 / row.full_scale_uv
        return np.clip(lo * s, -1, 1), np.clip(hi * s, -1, 1)
    mn, mx = rng
    mid, half = (mx + mn) / 2, (mx - mn) / 2
    half = np.where(half > 0, half, 1.0)  # a flat line sits in the middle of its row
    return np.clip((lo - mid) / half, -1, 1), np.clip((hi - mid) / half, -1, 1)


# An EMG stored as its rms envelope (Sleep-EDF cassette: 1 Hz, uV rms) cannot be filtered
# to 10-100 Hz; drawn as a line it would be a flat trace, which reads as atonia. It is
# drawn as the band a raw EMG of that rms makes at this resolution instead: +-k * rms,
# with k the expected peak of the samples in one pixel column of a 256-Hz EMG (Blom's
# approximation of the largest of n normals; measured on synthetic chin EMG: 2.0 at 224 px,
# 1.85 at 336 px).
_ENVELOPE_REF_HZ = 256.0


def is_envelope(kind: str, sfreq: float, highpass_hz: float | None) -> bool:
    """True for an EMG sampled too slowly to hold its band: an rms envelope, not a trace."""
    return kind == "emg" and sfreq < 2.0 * (highpass_hz or 10.0)


@lru_cache(maxsize=32)
def _peak_factor(samples_per_column: float) -> float:
    from scipy.special import ndtri

    n = max(samples_per_column, 2.0)
    return float(0.96 * ndtri((n - 0.375) / (n + 0.25)))


def _envelope_band(x: np.ndarray, n_cols: int, span_sec: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) = -+k * the rms level interpolated at each column centre."""
    n = x.shape[-1]
    pos = np.clip((np.arange(n_cols) + 0.5) / n_cols * n - 0.5, 0, n - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = (pos - i0).astype(np.float32)
    v = np.maximum(x[..., i0] * (1 - frac) + x[..., i1] * frac, 0)
    k = _peak_factor(_ENVELOPE_REF_HZ * span_sec / n_cols)
    return -k * v, k * v


def _finite_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        finite = np.isfinite(x)
        mn = np.min(np.where(finite, x, np.inf), axis=-1, keepdims=True)
        mx = np.max(np.where(finite, x, -np.inf), axis=-1, keepdims=True)
    empty = ~np.isfinite(mn)
    return np.where(empty, 0.0, mn), np.where(empty, 0.0, mx)


# -- painting -------------------------------------------------------------------------
# Images are painted as palette indices (uint8) and coloured once at the end: cheaper
# than writing three channels per stroke.
_BG, _CTX, _MINOR, _MAJOR, _MISSING, _ROW0 = range(6)


def _colorize(img: np.ndarray, spec: RenderSpec) -> np.ndarray:
    """Palette indices (n, H, W) -> RGB (n, H, W, 3) uint8, via one 32-bit lookup.

    The result is a view into an RGBA buffer (not C-contiguous); that is cheaper than a
    copy and every consumer (PIL, torch via numpy arithmetic) accepts it.
    """
    colors = np.asarray([spec.background, spec.context_background, spec.grid_minor_color,
                         spec.grid_major_color, spec.missing_color,
                         *(r.color for r in spec.rows)], np.uint32)
    lut = colors[:, 0] | (colors[:, 1] << 8) | (colors[:, 2] << 16)
    rgba = np.take(lut.astype("<u4"), img).view(np.uint8).reshape(*img.shape, 4)
    return rgba[..., :3]


@lru_cache(maxsize=16)
def _template(spec_json: str) -> np.ndarray:
    """Background, context tint and gridlines: everything that does not depend on data."""
    spec = RenderSpec.from_json(spec_json)
    lay = layout(spec)
    img = np.full((spec.height, spec.width), _BG, np.uint8)
    t = lay.time_of_pixel
    inside = lay.row_of_y >= 0
    ctx = inside[:, None] & ((t < 0) | (t >= spec.epoch_sec))
    img[ctx] = _CTX
    if spec.grid:
        px_sec = spec.width / (spec.window_sec / spec.fold)
        for band in lay.bands:
            col_t = t[band.y0]
            for period, index in ((spec.grid_minor_sec, _MINOR), (spec.grid_major_sec, _MAJOR)):
                if period * px_sec < 3:  # denser than every 3 px would be noise
                    continue
                k = np.floor(col_t / period + 1e-9)
                cols = np.nonzero(np.diff(k, prepend=np.floor(t[band.y0, 0] / period)))[0]
                img[band.y0:band.y1, cols] = index
    return img


def _paint_row(img: np.ndarray, lo: np.ndarray, hi: np.ndarray, band: Band, index: int,
               lw: int) -> None:
    """Paint (n, W) scaled envelopes into ``img`` (n, H, W) palette indices in ``band``."""
    h = band.y1 - band.y0
    centre, half = band.y0 + (h - 1) / 2, max((h - 2) / 2, 0.5)
    with np.errstate(invalid="ignore"):
        top = np.floor(centre - hi * half - (lw - 1) / 2)
        bot = np.ceil(centre - lo * half + (lw - 1) / 2)
    # NaN (no data): top below bottom, so nothing is drawn
    top = np.clip(np.nan_to_num(top, nan=band.y1), band.y0, band.y1).astype(np.int16)
    bot = np.clip(np.nan_to_num(bot, nan=band.y0 - 1), band.y0 - 1, band.y1 - 1
                  ).astype(np.int16)
    ys = np.arange(band.y0, band.y1, dtype=np.int16)[None, :, None]
    mask = (ys >= top[:, None, :]) & (ys <= bot[:, None, :])
    np.copyto(img[:, band.y0:band.y1], np.uint8(index), where=mask)


def _paint_missing(img: np.ndarray, band: Band, spec: RenderSpec) -> None:
    if spec.missing == "blank":
        return
    y = band.y0 + (band.y1 - band.y0) // 2
    dash = (np.arange(spec.width) // 4) % 2 == 0
    img[:, y, dash] = _MISSING


def _render_rows(rows: Sequence, spec: RenderSpec) -> np.ndarray:
    """Render a batch: each row input is ((n_epochs, n_padded_samples), sfreq) or None."""
    lay = layout(spec)
    n = next((r[0].shape[0] for r in rows if r is not None), 1)
    img = np.repeat(_template(spec.to_json())[None], n, axis=0)
    pad, win = spec.filter_pad_sec, spec.window_sec
    for i, (row, inp) in enumerate(zip(spec.rows, rows, strict=True)):
        bands = [b for b in lay.bands if b.row == i]
        if inp is None:
            for b in bands:
                _paint_missing(img, b, spec)
            continue
        x, sfreq = inp
        level = is_envelope(row.kind, sfreq, row.highpass_hz)
        x = np.asarray(x, np.float32) if level else _filter(x, sfreq, row, spec)
        p0 = int(round(pad * sfreq))
        core = x[:, p0: p0 + int(round(win * sfreq))]
        # fold: the window's samples split into `fold` consecutive bands
        seg = core.shape[-1] // spec.fold
        rng = _finite_range(core) if spec.scaling == "minmax" else None
        if level and rng is not None:
            k = _peak_factor(_ENVELOPE_REF_HZ * win / spec.fold / spec.width)
            rng = (-k * np.maximum(rng[1], 0), k * np.maximum(rng[1], 0))
        for b in bands:
            part = core[:, b.fold * seg: (b.fold + 1) * seg]
            if part.shape[-1] == 0:
                _paint_missing(img, b, spec)
                continue
            if level:
                lo, hi = _envelope_band(part, spec.width, win / spec.fold)
            else:
                lo, hi = _envelope(part, spec.width)
            lo, hi = _scale(lo, hi, row, spec, rng)
            _paint_row(img, lo, hi, b, _ROW0 + i, spec.line_width)
    return _colorize(img, spec)


def render(rows: Sequence[RowInput], spec: RenderSpec) -> np.ndarray:
    """Draw one epoch: (H, W, 3) uint8 (PSG Lens' renderer; see :func:`render_epoch` for
    specs that need the whole recording).

    ``rows[i]`` is ``(samples, sfreq)`` for ``spec.rows[i]`` covering the scored epoch,
    its context, and ``spec.filter_pad_sec`` before and after (see :func:`extract`),
    or None for a missing channel. NaN/inf samples are left undrawn.
    """
    if spec.renderer != "psglens":
        raise ValueError(f"The {spec.renderer!r} picture filters the whole recording; draw it "
                         "with render_epoch or render_many.")
    if len(rows) != len(spec.rows):
        raise ValueError(f"The spec has {len(spec.rows)} rows but {len(rows)} inputs were given.")
    batch = [None if r is None else (np.asarray(r[0])[None], float(r[1]))
             for r in rows]
    return _render_rows(batch, spec)[0]


# -- reading from a recording -----------------------------------------------------------
def window_bounds(spec: RenderSpec, epoch: int) -> tuple[float, float]:
    """[t0, t1) seconds of the padded window for ``epoch``."""
    t0 = (epoch - spec.context_epochs) * spec.epoch_sec - spec.filter_pad_sec
    return t0, t0 + spec.window_sec + 2 * spec.filter_pad_sec


def resolve_sources(recording, spec: RenderSpec, override: dict | None = None) -> list:
    """The Source filling each row of ``spec`` in ``recording`` (None where missing).

    Rows drawn relative to the night (``night_reference_uv``) get their gain here, so
    every caller draws the same picture (:mod:`app.core.signals.levels`).
    """
    import dataclasses

    from app.core.signals.levels import night_gain

    filled = recording.fill_slots([r.slot for r in spec.rows], override)
    out = []
    for r in spec.rows:
        src = filled[r.slot]
        if src is not None and r.night_reference_uv:
            src = dataclasses.replace(src, gain=night_gain(recording, src, r))
        out.append(src)
    return out


def extract(recording, spec: RenderSpec, epoch: int, sources: list | None = None
            ) -> list[RowInput]:
    """Read one epoch's padded window for every row of ``spec``."""
    recording.check_epoch(epoch)
    sources = resolve_sources(recording, spec) if sources is None else sources
    t0, t1 = window_bounds(spec, epoch)
    out: list[RowInput] = []
    for src in sources:
        if src is None:
            out.append(None)
            continue
        sig = recording.get_window(t0, t1, [src])[src.name]
        out.append((sig.data, sig.sfreq))
    return out


def render_epoch(recording, spec: RenderSpec, epoch: int, sources: list | None = None
                 ) -> np.ndarray:
    """Read and draw one epoch of a recording."""
    if spec.renderer == "sleepvlm":
        return next(render_many(recording, spec, [epoch], sources=sources))[0]
    return render(extract(recording, spec, epoch, sources), spec)


def render_many(recording, spec: RenderSpec, epochs: Sequence[int] | None = None, *,
                sources: list | None = None, batch_size: int = 64) -> Iterator[np.ndarray]:
    """Yield (n, H, W, 3) uint8 batches for ``epochs`` (default: all), in order.

    Each channel is read once per batch as one span and cut into overlapping padded
    windows, so a whole night costs one pass over the file.
    """
    epochs = np.arange(recording.n_epochs) if epochs is None else np.asarray(epochs)
    for e in (epochs.min(), epochs.max()) if len(epochs) else ():
        recording.check_epoch(int(e))
    sources = resolve_sources(recording, spec) if sources is None else sources
    if spec.renderer == "sleepvlm":
        from app.core.signals import render_sleepvlm

        channels = render_sleepvlm.prepared(recording, spec, sources)
        if not channels:
            raise ValueError("None of the SleepVLM channels (F4, C4, O2, LOC, ROC, Chin) "
                             "is in this study; there is nothing to draw.")
        for k in range(0, len(epochs), batch_size):
            yield render_sleepvlm.render_epochs(channels, epochs[k:k + batch_size])
        return
    for k in range(0, len(epochs), batch_size):
        chunk = epochs[k:k + batch_size]
        yield _render_rows(_batch_inputs(recording, spec, chunk, sources), spec)


def _batch_inputs(recording, spec: RenderSpec, chunk: np.ndarray, sources: list
                  ) -> list:
    first, last = int(chunk.min()), int(chunk.max())
    t0, _ = window_bounds(spec, first)
    _, t1 = window_bounds(spec, last)
    out = []
    for src in sources:
        if src is None:
            out.append(None)
            continue
        sig = recording.get_window(t0, t1, [src])[src.name]
        sf = sig.sfreq
        step = spec.epoch_sec * sf
        win = int(round((spec.window_sec + 2 * spec.filter_pad_sec) * sf))
        starts = np.round((chunk - first) * step).astype(int)
        if np.isclose(step, round(step)):
            view = np.lib.stride_tricks.sliding_window_view(sig.data, win)
            out.append((view[starts], sf))
        else:  # a rate without a whole number of samples per epoch: read each one
            out.append((np.stack([extract(recording, spec, int(e), [src])[0][0]
                                  for e in chunk]), sf))
    return out
