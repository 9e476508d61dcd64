"""Dataset adapters: each turns a source into study references (one per recording).

A :class:`StudyRef` is small and picklable, so the image cache can hand it to a worker
process that loads the recording and its hypnogram there. Subject ids decide the
train/validation/test split: epochs of one subject never straddle two splits.

Every adapter's ``load`` returns the hypnogram on the recording's own 30-s epoch grid
(:func:`fit_to_recording`): cropped or padded with Unscored to the recording, other
epoch lengths resampled, unlabelled epochs Unscored (never trained on).

Adapters (``ADAPTERS``; the ``type`` of a ``sources`` entry):

==============  ==========================================================
``synthetic``   ``app.core.synth`` nights (the embedded default model)
``generic``     PSG + hypnogram files matched by name, or a CSV manifest
``sleep-edf``   Sleep-EDF Expanded ``*-PSG.edf`` + ``*-Hypnogram.edf``
``isruc``       ISRUC-Sleep ``N/N.rec`` + ``N/N_1.txt`` / ``N/N_2.txt``
``mass``        MASS ``* PSG.edf`` + ``* Base.edf`` (20-s or 30-s epochs)
``shhs``        NSRR layout (``edfs/`` + ``annotations-events-nsrr/``); alias ``nsrr``
``sessions``    studies scored in PSG Lens (``*.psglens``): technician epochs only
==============  ==========================================================

Examples
--------
>>> from training.datasets import find_studies
>>> refs = find_studies({"type": "synthetic", "n_subjects": 3, "hours": 0.5, "seed": 7})
>>> [r.subject_id for r in refs]
['synth-0007', 'synth-0008', 'synth-0009']
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from app.errors import PSGLensError

ADAPTERS = {
    "synthetic": "training.datasets.synthetic",
    "generic": "training.datasets.generic",
    "sleep-edf": "training.datasets.sleep_edf",
    "isruc": "training.datasets.isruc",
    "mass": "training.datasets.mass",
    "shhs": "training.datasets.nsrr",
    "nsrr": "training.datasets.nsrr",
    "sessions": "training.datasets.sessions",
}
EPOCH_SEC = 30.0


class DatasetError(PSGLensError, ValueError):
    """A dataset source that cannot be found, matched or read as configured."""


@dataclass(frozen=True)
class StudyRef:
    """Where one scored recording comes from; ``load()`` opens it."""

    subject_id: str
    dataset: str
    kind: str
    params: dict = field(default_factory=dict, hash=False, compare=False)

    def load(self):
        """Return (Recording, Hypnogram, extra) where extra may hold e.g. planted events."""
        module = importlib.import_module(ADAPTERS[self.kind])
        return module.load(self)


def find_studies(source: dict) -> list[StudyRef]:
    """Study references for one ``sources`` entry of a training config."""
    kind = source.get("type")
    if kind not in ADAPTERS:
        raise ValueError(f"Unknown dataset type {kind!r}; known: {', '.join(ADAPTERS)}.")
    return importlib.import_module(ADAPTERS[kind]).find(source)


def register(kind: str, module: str) -> None:
    ADAPTERS[kind] = module


# -- helpers the adapters share ---------------------------------------------------------
def check_keys(source: dict, allowed: Iterable[str]) -> None:
    """Refuse misspelt options: a typo must not silently fall back to a default."""
    known = {"type", "name", *allowed}
    unknown = sorted(set(source) - known)
    if unknown:
        raise DatasetError(f"The {source.get('type')!r} dataset source has unknown option(s) "
                           f"{', '.join(unknown)}; it takes {', '.join(sorted(known))}.")


def subject_from_name(name: str, pattern: str | None, prefix: str = "") -> str:
    """``prefix`` + the first group of ``pattern`` searched in ``name`` (or ``name``)."""
    if pattern:
        m = re.search(pattern, name)
        if m is None:
            raise DatasetError(f"The subject pattern {pattern!r} does not match {name!r}; "
                               "fix subject_pattern so it matches every file name.")
        name = m.group(1) if m.groups() else m.group(0)
    return f"{prefix}{name}"


def _fine_grid(a: float, b: float) -> float | None:
    """The longest epoch both lengths are whole multiples of (20 s and 30 s: 10 s)."""
    fa, fb = Fraction(a).limit_denominator(1000), Fraction(b).limit_denominator(1000)
    if not (math.isclose(float(fa), a, abs_tol=1e-6) and math.isclose(float(fb), b, abs_tol=1e-6)):
        return None
    den = fa.denominator * fb.denominator
    g = Fraction(math.gcd(fa.numerator * fb.denominator, fb.numerator * fa.denominator), den)
    return float(g) if g >= Fraction(1, 2) else None


def fit_to_recording(hyp, rec, *, offset_sec: float | None = None,
                     min_fraction: float = 0.5):
    """The hypnogram on ``rec``'s 30-s epoch grid, one stage per recording epoch.

    Parameters
    ----------
    hyp : Hypnogram
        As read from the file, any epoch length.
    rec : Recording
        The PSG it scores.
    offset_sec : float, optional
        Hypnogram onset minus recording start; from the two start times when omitted
        (0 when either is unknown).
    min_fraction : float
        For hypnograms whose epochs do not fall on the recording's grid: the share of a
        30-s epoch its majority stage must cover, else that epoch is Unscored.

    Returns
    -------
    Hypnogram
        ``rec.n_epochs`` epochs of 30 s starting at ``rec.start_time``.

    Notes
    -----
    Epochs on a common grid (30 s, or 20 s starting a whole 10 s from the recording)
    go through :meth:`Hypnogram.resample` to that grid, :meth:`Hypnogram.align` and a
    majority resample to 30 s; anything else is relabelled by time overlap
    (:func:`relabel_by_time`), which gives the same result on a common grid.
    """
    if offset_sec is None:
        if hyp.start_time is None or rec.start_time is None:
            offset_sec = 0.0
        else:
            offset_sec = (hyp.start_time.replace(tzinfo=None)
                          - rec.start_time.replace(tzinfo=None)).total_seconds()
    fine = _fine_grid(hyp.epoch_sec, EPOCH_SEC)
    if fine is not None and math.isclose(offset_sec / fine, round(offset_sec / fine),
                                         abs_tol=1e-3):
        k = int(round(EPOCH_SEC / fine))
        out = hyp.resample(fine).align(rec.start_time, rec.duration_sec, offset_sec=offset_sec)
        out = out.crop(0, rec.n_epochs * k).resample(EPOCH_SEC)
    else:
        events = [(offset_sec + i * hyp.epoch_sec, hyp.epoch_sec, int(s))
                  for i, s in enumerate(hyp.stages)]
        out = relabel_by_time(events, rec.n_epochs, min_fraction=min_fraction,
                              start_time=rec.start_time, scorer=hyp.scorer, source=hyp.source)
    if _n_scored(hyp.stages) and not _n_scored(out.stages):
        raise DatasetError(
            f"The hypnogram {hyp.meta.get('path', hyp.scorer)!r} does not overlap its "
            f"recording ({offset_sec:+.0f} s apart by their start times); if the dates "
            "were de-identified, set offset_sec: 0 for this source.")
    out.meta.update(hyp.meta)
    return out


def relabel_by_time(events: Iterable[tuple[float, float, int]], n_epochs: int, *,
                    epoch_sec: float = EPOCH_SEC, min_fraction: float = 0.5, **hyp_kwargs):
    """Stages of ``n_epochs`` consecutive epochs from (onset s, duration s, stage) events.

    Each epoch takes the stage covering most of it (ties: the one that starts first, the
    AASM rule); a scored stage covering less than ``min_fraction`` of the epoch, or no
    event at all, leaves it Unscored. Used for annotations off the recording's grid
    (MASS onsets, 20-s epochs).
    """
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.scoring.stages import Stage

    cover = np.zeros((n_epochs, 7))          # columns: stage code + 2 (Artifact -2 .. REM 4)
    first = np.full((n_epochs, 7), np.inf)
    for onset, duration, stage in events:
        a, b = float(onset), float(onset) + float(duration)
        lo, hi = max(int(a // epoch_sec), 0), min(int(math.ceil(b / epoch_sec)), n_epochs)
        for j in range(lo, hi):
            s, e = max(a, j * epoch_sec), min(b, (j + 1) * epoch_sec)
            if e > s:
                cover[j, stage + 2] += e - s
                first[j, stage + 2] = min(first[j, stage + 2], s)
    best = cover.max(axis=1, keepdims=True)
    tied = np.isclose(cover, best) & (cover > 0)
    win = np.where(tied, first, np.inf).argmin(axis=1)
    stages = (win - 2).astype(np.int8)
    weak = (best[:, 0] < min_fraction * epoch_sec) & (stages >= 0)
    stages[weak | (best[:, 0] <= 0)] = Stage.UNSCORED
    return Hypnogram(stages, epoch_sec=epoch_sec, **hyp_kwargs)


def crop_wake(hyp, margin_min: float | None):
    """Unscore wake more than ``margin_min`` minutes before sleep onset / after the end.

    Long recordings (Sleep-EDF's 20-h cassettes) are mostly wake; the usual practice is
    to keep 30 min either side of sleep. Unscored epochs are not trained on.
    """
    if margin_min is None:
        return hyp
    sleep = np.flatnonzero((hyp.stages >= 1) & (hyp.stages <= 4))
    if sleep.size == 0:
        return hyp
    m = int(round(margin_min * 60 / hyp.epoch_sec))
    out = hyp.copy()
    lo, hi = max(int(sleep[0]) - m, 0), int(sleep[-1]) + m + 1
    for sl in (slice(0, lo), slice(hi, None)):
        out.stages[sl] = -1
        out.sources[sl] = 0
    return out


def _n_scored(stages: np.ndarray) -> int:
    return int(np.count_nonzero((stages >= 0) & (stages <= 4)))


def load_file_pair(ref: StudyRef, *, fmt: str | None = None, offset_sec: float | None = None):
    """(Recording, Hypnogram, extra) for a PSG file + hypnogram file reference.

    The hypnogram is read in ``fmt`` (or the ref's ``hypnogram_format``, or detected),
    fitted onto the recording's 30-s epochs (start times decide the offset unless
    ``offset_sec`` or the ref's ``offset_sec`` is given) and its far wake cropped."""
    from app.core.formats import read_hypnogram
    from app.core.signals.recording import Recording

    p = ref.params
    rec = Recording.open(p["psg"])
    hyp = read_hypnogram(p["hypnogram"], format=fmt or p.get("hypnogram_format"),
                         unknown="unscored", epoch_sec=p.get("epoch_sec"))
    offset = p.get("offset_sec") if offset_sec is None else offset_sec
    hyp = crop_wake(fit_to_recording(hyp, rec, offset_sec=offset), p.get("wake_margin_min"))
    return rec, hyp, {"study": p["study"], "psg": p["psg"], "hypnogram": p["hypnogram"],
                      "warnings": list(hyp.meta.get("warnings", []))}
