"""Fitting a hypnogram onto a study is never silent: what it would drop and pad, in numbers.

A hypnogram from another program may be longer or shorter than the study, or start
elsewhere (its own start time). :func:`plan_fit` says what fitting it would do; the CLI
refuses a mismatch unless ``--fit``, the GUI asks. A hypnogram that shares no epoch with
the study is always refused: it belongs to another night.

Examples
--------
>>> import datetime as dt
>>> from app.core.scoring.hypnogram import Hypnogram
>>> hyp = Hypnogram.from_labels(["W", "N1", "N2"])
>>> plan = plan_fit(hyp, None, 5)
>>> plan.exact, plan.dropped, plan.unscored
(False, 0, 2)
>>> plan.sentence("night.csv")[:40]
'night.csv has 3 epochs starting +0.0 min'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.scoring.hypnogram import Hypnogram, HypnogramError


class FitRefused(HypnogramError):
    """A hypnogram that does not match the study, refused until fitting is asked for
    (``plan`` says what fitting would do)."""

    def __init__(self, message: str, plan: FitPlan) -> None:
        super().__init__(message)
        self.plan = plan


@dataclass(frozen=True)
class FitPlan:
    """What fitting a hypnogram onto a study of ``n_study`` epochs does."""

    n_hypnogram: int
    n_study: int
    offset_sec: float  # hypnogram onset minus recording start
    epoch_sec: float

    @property
    def shift(self) -> int:
        return int(round(self.offset_sec / self.epoch_sec))

    @property
    def overlap(self) -> int:
        """Epochs the hypnogram and the study share."""
        return max(0, min(self.n_hypnogram, self.n_study - self.shift) - max(0, -self.shift))

    @property
    def dropped(self) -> int:
        """Hypnogram epochs outside the study (cropped)."""
        return self.n_hypnogram - self.overlap

    @property
    def unscored(self) -> int:
        """Study epochs the hypnogram does not cover (padded as Unscored)."""
        return self.n_study - self.overlap

    @property
    def exact(self) -> bool:
        return self.n_hypnogram == self.n_study and abs(self.offset_sec) < 1e-6

    def sentence(self, name: str) -> str:
        """The mismatch in numbers, without advice (the caller says what to do)."""
        return (f"{name} has {self.n_hypnogram} epochs starting {self.offset_sec / 60:+.1f} "
                f"min from the recording's start; the study has {self.n_study}. Fitting it "
                f"would drop {self.dropped} epoch(s) of the hypnogram and leave "
                f"{self.unscored} of the study unscored.")


def plan_fit(hyp: Hypnogram, recording_start: dt.datetime | None, n_study: int, *,
             name: str = "The hypnogram") -> FitPlan:
    """What fitting ``hyp`` (already in the study's epoch length) would do.

    Raises
    ------
    HypnogramError
        When it shares no epoch with the study, or starts a fraction of an epoch off.
    """
    offset = hyp.offset_sec(recording_start)
    plan = FitPlan(hyp.n_epochs, int(n_study), offset, hyp.epoch_sec)
    if not abs(offset / hyp.epoch_sec - plan.shift) < 1e-3:
        raise HypnogramError(
            f"{name} starts {offset:g} s after the recording, which is not a whole number "
            f"of {hyp.epoch_sec:g}-s epochs; it cannot be laid on this study's epochs.")
    if plan.overlap == 0:
        raise HypnogramError(
            f"{name} ({hyp.n_epochs} epochs) does not overlap the study ({n_study} epochs): "
            f"it starts {offset / 60:+.1f} min from the recording's start. Check that it "
            "belongs to this study.")
    return plan
