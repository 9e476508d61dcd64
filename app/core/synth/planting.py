"""Clinical events to plant: the indices asked for, their random streams, and the night's
timeline that says where an event may still go.

Apneas, hypopneas, limb movements and arousals are ground truth for event detectors, so
they follow two rules a scorer relies on: they lie in sleep (stage codes 1-4, never in
W or unscored epochs) and they never overlap each other. :class:`Timeline` keeps both on
a 0.1-s grid of the night.

Their random numbers come from generators of their own (:func:`event_rng`), never from
the night's: a night with events is the night without them plus the events, and the
default synthesis stays byte-identical to what the embedded model was trained on.

Examples
--------
>>> EventIndices(apnea=15, plm=20).any
True
>>> EventIndices(apnea=-1)
Traceback (most recent call last):
...
app.core.synth.planting.SynthEventError: The apnea index must be a number from 0 to 120 events per hour of sleep, not -1.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from app.errors import PSGLensError

# Above these an index describes no night a person has had (AASM severe OSA is >= 30/h;
# PLM indices above ~150/h and arousal indices above ~100/h are not reported): a typo.
LIMITS = {"apnea": 120.0, "plm": 150.0, "arousal": 100.0}
_WHAT = {"apnea": "apnea", "plm": "PLM", "arousal": "arousal"}
RES = 10  # timeline cells per second
# One stream per consumer, so the order things are made in never changes what they are.
STREAMS = ("plan", "breathing", "legs", "cortex", "chin")


class SynthEventError(PSGLensError, ValueError):
    """Clinical events that cannot be planted as asked (an index out of range, no sleep)."""


@dataclasses.dataclass(frozen=True)
class EventIndices:
    """Events per hour of sleep to plant (0: none of that kind).

    ``apnea`` counts respiratory events (obstructive, central and mixed apneas and
    hypopneas: the AHI), ``plm`` limb movements in periodic series (the PLMS index) and
    ``arousal`` spontaneous arousals (respiratory events bring arousals of their own).

    Examples
    --------
    >>> EventIndices(arousal=10.0)
    EventIndices(apnea=0.0, plm=0.0, arousal=10.0)
    """

    apnea: float = 0.0
    plm: float = 0.0
    arousal: float = 0.0

    def __post_init__(self) -> None:
        for name, hi in LIMITS.items():
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(value, bool) or not (0.0 <= number <= hi):  # NaN fails too
                shown = f"{value:g}" if isinstance(value, (int, float)) and \
                    not isinstance(value, bool) else repr(value)
                raise SynthEventError(f"The {_WHAT[name]} index must be a number from 0 to "
                                      f"{hi:g} events per hour of sleep, not {shown}.")
            object.__setattr__(self, name, number)

    @property
    def any(self) -> bool:
        return self.apnea > 0 or self.plm > 0 or self.arousal > 0


def event_rng(seed: int, stream: str, part: int = 0) -> np.random.Generator:
    """The generator of one consumer of the event streams (see :data:`STREAMS`); ``part``
    tells apart the signals one consumer makes (each chin electrode, each channel).

    Examples
    --------
    >>> a, b = event_rng(3, "plan").random(), event_rng(3, "plan").random()
    >>> a == b, a == event_rng(3, "legs").random()
    (True, False)
    """
    seq = np.random.SeedSequence([int(seed), 0x15E7, STREAMS.index(stream), int(part)])
    return np.random.Generator(np.random.SFC64(seq))


class Timeline:
    """Sleep and taken time of one night on a 0.1-s grid.

    ``stages`` are the night's codes (-1 unscored, 0 W, 1 N1, 2 N2, 3 N3, 4 REM); events
    may go only where the stage is 1-4 and nothing else has been put.

    Examples
    --------
    >>> tl = Timeline(np.array([0, 2, 2, 0]), 30.0)
    >>> tl.sleep_hours, tl.free(35.0, 50.0), tl.free(20.0, 40.0)
    (0.016666666666666666, True, False)
    """

    def __init__(self, stages: np.ndarray, epoch_sec: float) -> None:
        self.stages = np.asarray(stages, np.int64)
        self.epoch_sec = float(epoch_sec)
        self.duration = self.stages.size * self.epoch_sec
        self.n = int(round(self.duration * RES))
        self.cell_stage = self.stages[np.minimum(
            (np.arange(self.n) / (RES * self.epoch_sec)).astype(np.int64), self.stages.size - 1)]
        self.sleep = self.cell_stage >= 1
        self.taken = np.zeros(self.n, bool)
        change = np.flatnonzero(np.diff(np.r_[False, self.sleep, False].astype(np.int8)))
        self.runs = change.reshape(-1, 2) / RES  # (start, end) seconds of each sleep bout

    @property
    def sleep_hours(self) -> float:
        return float(self.sleep.sum()) / RES / 3600.0

    def _cells(self, a: float, b: float) -> slice:
        return slice(int(math.floor(a * RES + 1e-9)), int(math.ceil(b * RES - 1e-9)))

    def free(self, a: float, b: float) -> bool:
        """Whether [a, b) lies in the night, in sleep, and holds nothing yet."""
        if a < 0 or b > self.duration or b <= a:
            return False
        c = self._cells(a, b)
        return bool(self.sleep[c].all() and not self.taken[c].any())

    def take(self, a: float, b: float) -> None:
        self.taken[self._cells(max(a, 0.0), min(b, self.duration))] = True

    def stage_at(self, t: float) -> int:
        return int(self.cell_stage[min(max(int(t * RES), 0), self.n - 1)])

    def sample(self, rng: np.random.Generator, k: int, stage_weight: tuple[float, ...],
               epoch_weight: np.ndarray | None = None) -> np.ndarray:
        """``k`` sorted times drawn with density ``stage_weight[stage]`` (x ``epoch_weight``)."""
        w = np.asarray(stage_weight, float)[np.maximum(self.stages, 0)] * (self.stages >= 1)
        if epoch_weight is not None:
            w = w * epoch_weight
        if k == 0 or w.sum() <= 0:
            return np.zeros(0)
        ep = rng.choice(self.stages.size, size=k, p=w / w.sum())
        return np.sort((ep + rng.random(k)) * self.epoch_sec)

    def run_after(self, t: float) -> tuple[float, float] | None:
        """The sleep bout that holds ``t``, or the next one; None after the last."""
        i = int(np.searchsorted(self.runs[:, 1], t, side="right"))
        return None if i >= len(self.runs) else (float(self.runs[i, 0]), float(self.runs[i, 1]))

    def place(self, rng: np.random.Generator, stage_weight: tuple[float, ...], before: float,
              length: float, after: float, tries: int = 60) -> float | None:
        """A random free time ``t`` with [t - before, t + length + after) free; taken as
        [t, t + length). None when ``tries`` draws all collide."""
        times = self.sample(rng, tries, stage_weight)
        for t in times[rng.permutation(times.size)]:  # unsorted: no drift to the start
            if self.free(t - before, t + length + after):
                self.take(t, t + length)
                return float(t)
        return None


def beta_between(rng: np.random.Generator, lo: float, hi: float, a: float, b: float,
                 size: int | None = None) -> Any:
    """Values in [lo, hi], Beta(a, b)-distributed: skewed event lengths with hard limits."""
    return lo + (hi - lo) * rng.beta(a, b, size)
