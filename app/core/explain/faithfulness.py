"""Is a heatmap faithful? Deletion/insertion curves, the pointing game, rank correlation.

- Deletion: paint patches with the background from most to least important; a faithful
  map makes the explained stage's probability fall fast (low area under the curve).
  Insertion: start from a blank picture and reveal patches in the same order; the
  probability should rise fast (high area). A random order is the reference.
- Pointing game: the heatmap's strongest patch should lie on an event the synthesizer
  planted that defines the stage (spindles/K-complexes for N2, ...). Chance is the
  fraction of patches touching such an event.
- Model randomisation (Adebayo et al. 2018): maps from the trained model and from the
  same architecture with re-initialised weights should differ (low rank correlation).

Examples
--------
>>> order = np.argsort(-patch_scores.reshape(-1))                       # doctest: +SKIP
>>> curve = deletion_insertion(engine, image, order, stage=2, patch=16,  # doctest: +SKIP
...                            background=(255, 255, 255))
>>> curve.deletion_auc < curve.insertion_auc                            # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from app.core.explain.mapping import patch_ids

#: Planted event kinds that define each stage (AASM): W, N1, N2, N3, REM.
DEFINING_EVENTS: dict[int, tuple[str, ...]] = {
    0: ("alpha",), 1: ("vertex", "slow_eye"), 2: ("spindle", "k_complex"),
    3: ("delta",), 4: ("rem", "sawtooth")}
# eye movements are conjugate: the synthesizer lists them on E1 but draws them on E1 and E2
_EYE_KINDS = ("rem", "slow_eye", "blink", "saccade", "vsaccade", "flutter")


@dataclass(frozen=True)
class Curves:
    fractions: np.ndarray   # share of patches removed (deletion) / revealed (insertion)
    deletion: np.ndarray    # probability of the stage after removing that share
    insertion: np.ndarray   # probability after revealing that share

    @property
    def deletion_auc(self) -> float:
        return _auc(self.fractions, self.deletion)

    @property
    def insertion_auc(self) -> float:
        return _auc(self.fractions, self.insertion)


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def deletion_insertion(engine, image: np.ndarray, order: Sequence[int], *, stage: int,
                       patch: int, background: Iterable[int], steps: int = 16) -> Curves:
    """Probability of ``stage`` as patches are removed / revealed in ``order``.

    ``order`` lists patch indices (row-major over the patch grid), most important
    first; ``steps + 1`` points from 0 to all patches, each a real picture scored by
    ``engine.probabilities`` (through the processor, as in scoring).
    """
    image = np.asarray(image, np.uint8)
    ids = patch_ids(image.shape[:2], patch)
    order = np.asarray(order, np.int64)
    n = order.size
    counts = np.unique(np.round(np.linspace(0, n, steps + 1)).astype(int))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    pixel_rank = rank[ids]  # when each pixel's patch is reached
    blank = np.empty_like(image)
    blank[...] = np.asarray(tuple(background), np.uint8)
    deleted, inserted = [], []
    for k in counts:
        gone = (pixel_rank < k)[..., None]
        deleted.append(np.where(gone, blank, image))
        inserted.append(np.where(gone, image, blank))
    probs = engine.probabilities(np.stack(deleted + inserted))[:, int(stage)]
    m = len(counts)
    return Curves(counts / n, probs[:m].astype(float), probs[m:].astype(float))


def order_from_scores(scores: np.ndarray, rng: np.random.Generator | None = None
                      ) -> np.ndarray:
    """Patch indices, highest score first; ties broken at random (not top-left first)."""
    flat = np.asarray(scores, float).reshape(-1)
    rng = rng or np.random.default_rng(0)
    jitter = rng.random(flat.size) * 1e-9 * (np.abs(flat).max() + 1e-12)
    return np.argsort(-(flat + jitter), kind="stable")


# -- pointing game ---------------------------------------------------------------------
def event_mask(events: Iterable, epoch: int, spec, row_channels: Sequence[str | None],
               kinds: Sequence[str]) -> np.ndarray:
    """(H, W) bool: pixels showing planted events of ``kinds`` in ``epoch``.

    ``row_channels[i]`` is the file channel drawn in row ``i`` (None: missing). Times
    are taken relative to the epoch onset and drawn through ``layout(spec)``.
    """
    from app.core.signals.render import layout

    lay = layout(spec)
    mask = np.zeros((spec.height, spec.width), bool)
    onset = epoch * spec.epoch_sec
    eog_rows = [i for i, r in enumerate(spec.rows) if r.kind == "eog"]
    for ev in events:
        if ev.epoch != epoch or ev.kind not in kinds:
            continue
        rows = [i for i, ch in enumerate(row_channels) if ch == ev.channel]
        if ev.kind in _EYE_KINDS and rows and rows[0] in eog_rows:
            rows = eog_rows
        t0 = ev.onset - onset
        for r in rows:
            mask |= lay.channel_time_to_pixels(r, t0, t0 + ev.duration)
    return mask


@dataclass(frozen=True)
class Pointing:
    hit: bool
    chance: float        # fraction of patches touching the events (a random patch's odds)
    area: float          # fraction of pixels the events cover


def pointing_game(patch_scores_: np.ndarray, mask: np.ndarray, patch: int) -> Pointing | None:
    """Does the strongest patch touch the event mask? None when the mask is empty."""
    if not mask.any():
        return None
    ids = patch_ids(mask.shape, patch)
    touched = np.bincount(ids[mask], minlength=ids.max() + 1) > 0
    best = int(np.argmax(np.asarray(patch_scores_, float).reshape(-1)))
    return Pointing(bool(touched[best]), float(touched.mean()), float(mask.mean()))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (NaN when either is constant)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float).reshape(-1), np.asarray(b, float).reshape(-1)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def reinitialise(model, seed: int = 0) -> None:
    """Re-draw every weight of ``model`` in place (same architecture, no training)."""
    import torch

    torch.manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
                continue
            norm = module.__class__.__name__.endswith("Norm")
            for p in module.parameters(recurse=False):  # e.g. CLIP's class embedding
                p.fill_(1.0) if norm else p.normal_(0.0, 0.02)
