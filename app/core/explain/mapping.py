"""From a heatmap over the model's picture to words and pictures a technician can check.

A heatmap lives on the rendered image; :func:`app.core.signals.render.layout` says which channel
row and which second every pixel shows. Here that map turns a heatmap into per-channel
shares (summing to 1 over rows), a per-second curve per channel, and a few regions in
words ("C4-M1, 12-14 s"); and the heatmap into a coloured overlay (numpy + PIL only).

Examples
--------
>>> import numpy as np
>>> from app.core.signals.render_spec import RenderSpec
>>> spec = RenderSpec.preset("clinical", width=64, height=64)
>>> heat = np.zeros((64, 64)); heat[12:20, 10:20] = 1.0     # central row, 4.9-9.1 s
>>> shares, grid, bins = channel_time(heat, spec)
>>> int(shares.argmax()), round(float(shares.sum()), 6)
(1, 1.0)
>>> [r.text for r in top_regions(grid, bins, row_labels(spec))][:1]
['C4-M1, 4-10 s']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.signals.render import layout
from app.core.signals.render_spec import RenderSpec


@dataclass(frozen=True)
class Region:
    """A stretch of one channel row that carried much of the importance."""

    row: int
    label: str
    t0: float      # seconds from the scored epoch's onset
    t1: float
    share: float   # fraction of the whole heatmap's importance inside it
    epoch_sec: float = 30.0

    @property
    def text(self) -> str:
        """``"C4-M1, 12-14 s"``; context epochs are named as such."""
        t0, t1, e = self.t0, self.t1, self.epoch_sec
        if t1 <= 0:
            return f"{self.label}, previous epoch {_sec(t0 + e)}-{_sec(t1 + e)} s"
        if t0 >= e:
            return f"{self.label}, next epoch {_sec(t0 - e)}-{_sec(t1 - e)} s"
        return f"{self.label}, {_sec(t0)}-{_sec(t1)} s"


def _sec(t: float) -> str:
    return f"{t:.0f}" if abs(t - round(t)) < 1e-6 else f"{t:.1f}"


def row_labels(spec: RenderSpec, sources: Sequence | None = None) -> list[str]:
    """What each row shows: the channel that filled its slot, else the row's own label."""
    labels = []
    for i, row in enumerate(spec.rows):
        src = sources[i] if sources is not None and i < len(sources) else None
        name = getattr(src, "name", None) or spec.filled.get(row.slot) or row.label or row.slot
        if sources is not None and src is None:
            name = f"{row.label or row.slot} (missing)"
        labels.append(str(name))
    return labels


def channel_time(heat: np.ndarray, spec: RenderSpec, bin_sec: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(channel shares (n_rows,), time grid (n_rows, n_bins), bin left edges)``.

    The grid sums the non-negative ``heat`` per row and ``bin_sec`` bin and is scaled to
    sum to 1; the shares are its row sums. An all-zero heatmap gives uniform shares
    (nothing singled out) rather than NaN.
    """
    heat = np.clip(np.nan_to_num(np.asarray(heat, float)), 0, None)
    grid, bins = layout(spec).channel_time_grid(heat, bin_sec)
    total = grid.sum()
    if total > 0:
        grid = grid / total
    else:
        grid = np.full_like(grid, 1.0 / grid.size)
    return grid.sum(axis=1), grid, bins


def top_regions(grid: np.ndarray, bins: np.ndarray, labels: Sequence[str], *, k: int = 3,
                min_share: float = 0.03, epoch_sec: float = 30.0) -> list[Region]:
    """Up to ``k`` row stretches, most important first.

    Each grows from the strongest remaining cell to neighbouring seconds holding at
    least half its value, so "12-14 s" means two adjacent seconds both mattered.
    """
    g = np.array(grid, float)
    if g.size == 0 or g.max() <= 0 or np.allclose(g, g.flat[0]):
        return []  # uniform: nothing stands out, so say nothing
    step = float(bins[1] - bins[0]) if len(bins) > 1 else epoch_sec
    out: list[Region] = []
    while len(out) < k:
        r, c = np.unravel_index(int(np.argmax(g)), g.shape)
        peak = g[r, c]
        if peak <= 0 or peak < min_share / 2:
            break
        lo = hi = c
        while lo > 0 and g[r, lo - 1] >= peak / 2:
            lo -= 1
        while hi < g.shape[1] - 1 and g[r, hi + 1] >= peak / 2:
            hi += 1
        share = float(g[r, lo:hi + 1].sum())
        g[r, lo:hi + 1] = 0.0
        if share < min_share:
            continue
        out.append(Region(int(r), str(labels[r]), float(bins[lo]), float(bins[hi] + step),
                          share, epoch_sec))
    return out


def channel_table(labels: Sequence[str], shares: np.ndarray, regions: Sequence[Region],
                  width: int = 30) -> str:
    """Plain-text table: channel, share of importance, a bar, and its top stretch."""
    name_w = max(7, *(len(s) for s in labels))
    lines = [f"{'channel':<{name_w}}  share  {'':<{width}}  most important"]
    best = {}
    for reg in regions:
        best.setdefault(reg.row, reg.text.split(", ", 1)[1])
    for i, (label, share) in enumerate(zip(labels, shares)):
        bar = "#" * int(round(float(share) * width))
        lines.append(f"{label:<{name_w}}  {float(share) * 100:4.0f}%  {bar:<{width}}  "
                     f"{best.get(i, '')}".rstrip())
    return "\n".join(lines)


# -- pixels --------------------------------------------------------------------------
def resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float (h, w) map to ``shape`` (H, W); identity when equal."""
    values = np.asarray(values, np.float32)
    if values.shape == tuple(shape):
        return values
    from PIL import Image

    img = Image.fromarray(values, mode="F")
    return np.asarray(img.resize((shape[1], shape[0]), Image.BILINEAR), np.float32)


def patch_scores(pixel_map: np.ndarray, patch: int, reduce: str = "sum") -> np.ndarray:
    """(gh, gw) sums (or means) of a (H, W) map over ``patch`` x ``patch`` cells.

    Trailing pixels that do not fill a whole patch join the last row/column of patches,
    as they do in the feature mask.
    """
    m = np.asarray(pixel_map, float)
    h, w = m.shape
    gh, gw = max(1, h // patch), max(1, w // patch)
    ry = np.minimum(np.arange(h) // patch, gh - 1)
    rx = np.minimum(np.arange(w) // patch, gw - 1)
    out = np.zeros((gh, gw))
    np.add.at(out, (ry[:, None], rx[None, :]), m)
    if reduce == "mean":
        counts = np.zeros((gh, gw))
        np.add.at(counts, (ry[:, None], rx[None, :]), 1.0)
        out /= counts
    return out


def patch_ids(shape: tuple[int, int], patch: int) -> np.ndarray:
    """(H, W) int64 patch index of every pixel, row-major over the patch grid."""
    h, w = shape
    gh, gw = max(1, h // patch), max(1, w // patch)
    ry = np.minimum(np.arange(h) // patch, gh - 1)
    rx = np.minimum(np.arange(w) // patch, gw - 1)
    return (ry[:, None] * gw + rx[None, :]).astype(np.int64)


def expand_patches(scores: np.ndarray, shape: tuple[int, int], patch: int) -> np.ndarray:
    """A (gh, gw) patch map painted back onto (H, W) pixels."""
    return np.asarray(scores, np.float32).reshape(-1)[patch_ids(shape, patch)]


# -- colour --------------------------------------------------------------------------
# Anchors of matplotlib's "inferno" (perceptually uniform, monotonic in lightness, fine in
# greyscale and for most colour-blind readers). On white paper the map runs the other
# way, pale yellow (little) to magenta-purple (most), and stops short of near-black so
# traces under the most important patches stay readable.
_INFERNO = np.array([
    (0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
    (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164)], float)
_LIGHT, _DARK = 0.95, 0.35  # the stretch of inferno used, light end first


def _inferno(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0, 1) * (len(_INFERNO) - 1)
    i = np.minimum(v.astype(int), len(_INFERNO) - 2)
    f = (v - i)[..., None]
    return _INFERNO[i] * (1 - f) + _INFERNO[i + 1] * f


def colormap(values: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours for importance in [0, 1]: pale yellow -> magenta-purple."""
    v = np.clip(np.nan_to_num(np.asarray(values, float)), 0, 1)
    return np.round(_inferno(_LIGHT - (_LIGHT - _DARK) * v)).astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.6,
            gamma: float = 0.7, zoom: int = 1) -> np.ndarray:
    """The picture with the heatmap laid over it: (H*zoom, W*zoom, 3) uint8.

    Opacity grows with importance (``alpha * heat**gamma``), so unimportant parts keep
    the traces readable; the colour runs pale yellow (little) to magenta-purple (most).
    """
    img = np.asarray(image, float)
    heat = np.clip(np.nan_to_num(resize_map(heatmap, img.shape[:2])), 0, 1)
    a = (alpha * heat ** gamma)[..., None]
    out = np.round(img * (1 - a) + colormap(heat) * a).astype(np.uint8)
    if zoom > 1:  # nearest neighbour: patches stay crisp squares
        out = out.repeat(zoom, axis=0).repeat(zoom, axis=1)
    return out


def colorbar(height: int, width: int = 12) -> np.ndarray:
    """A vertical (height, width, 3) legend: most important at the top."""
    v = np.linspace(1, 0, height)[:, None].repeat(width, axis=1)
    return colormap(v)
