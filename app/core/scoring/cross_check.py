"""Cross-check the model's night against an independent stager (YASA, trained on real PSG).

Why: the model's confidence is calibrated on average, but when it is wrong it is wrong a
whole night at a time (an old sleeper's N2 read as N1, a lone frontal lead read as N2),
at high confidence. An independent stager that learnt from real recordings disagrees with
it exactly there: on held-out synthetic nights the fraction of epochs the two agree on
followed the model's accuracy night by night (``bench/cross_check.py``). So the cross-check
does not change a single stage; it says how much of the night the two agree on, marks each
epoch they stage differently with a note, and names the longest such stretch, so the
technician reviews those first.

Examples
--------
>>> from app.core.scoring.hypnogram import Hypnogram
>>> from app.core.scoring.cross_check import cross_check
>>> model = Hypnogram.from_labels(["W", "N1", "N1", "N2", "N2", "REM"])
>>> yasa = Hypnogram.from_labels(["W", "N2", "N2", "N2", "N2", "REM"])
>>> check = cross_check(model, yasa, name="YASA")
>>> check.n_compared, check.n_disagree, round(check.agreement, 2)
(6, 2, 0.67)
>>> check.note(1)
'YASA: N2 (model: N1)'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import SCORED_STAGES, STAGE_LABELS
from app.errors import PSGLensError

# Below this agreement the night as a whole is in doubt, not a few epochs. Chosen on
# held-out synthetic nights (seeds 910000+); on bench/cross_check.py's other nights
# (920000+) the night-and-leads pairs under it had the model right on at most 0.82 of
# epochs (median 0.52), those at or above it on at least 0.73 (median 0.92).
LOW_AGREEMENT = 0.75


class CrossCheckError(PSGLensError, ValueError):
    """The two scorings cannot be compared (another length or epoch length)."""


@dataclass(frozen=True)
class CrossCheck:
    """Where the model and a peer stage a night alike.

    Attributes
    ----------
    peer : str
        Who the peer is, as the sentences name it ("YASA").
    model_stages, peer_stages : ndarray of int8
        The two hypnograms' stages (Unscored and Artifact are never compared).
    epoch_sec : float
        Epoch length, for the times in :meth:`sentence`.
    start_time : datetime, optional
        Clock time of the first epoch, to give the longest stretch as clock times too.
    """

    peer: str
    model_stages: np.ndarray
    peer_stages: np.ndarray
    epoch_sec: float = 30.0
    start_time: dt.datetime | None = None

    # computed once: note() is asked for every epoch of the night
    @cached_property
    def compared(self) -> np.ndarray:
        """Epochs both staged W..REM."""
        scored = [int(s) for s in SCORED_STAGES]
        return np.isin(self.model_stages, scored) & np.isin(self.peer_stages, scored)

    @cached_property
    def disagree(self) -> np.ndarray:
        """Compared epochs the two stage differently."""
        return self.compared & (self.model_stages != self.peer_stages)

    @property
    def n_compared(self) -> int:
        return int(self.compared.sum())

    @property
    def n_disagree(self) -> int:
        return int(self.disagree.sum())

    @property
    def agreement(self) -> float:
        """Fraction of compared epochs staged alike (NaN when none were compared)."""
        return float("nan") if not self.n_compared else 1.0 - self.n_disagree / self.n_compared

    @property
    def low(self) -> bool:
        return bool(self.n_compared) and self.agreement < LOW_AGREEMENT

    def longest_run(self) -> tuple[int, int]:
        """``(first, stop)`` epochs of the longest stretch of disagreement ((0, 0): none)."""
        from app.core.detectors.reading import runs

        spans = runs(self.disagree)
        if not len(spans):
            return 0, 0
        first, stop = spans[int(np.argmax(spans[:, 1] - spans[:, 0]))]
        return int(first), int(stop)

    def note(self, epoch: int) -> str:
        """The epoch's note ("" where the two agree or one did not stage it)."""
        if not self.disagree[epoch]:
            return ""
        return (f"{self.peer}: {STAGE_LABELS[int(self.peer_stages[epoch])]} "
                f"(model: {STAGE_LABELS[int(self.model_stages[epoch])]})")

    def sentence(self, marks: str = "each such epoch carries a note") -> str:
        """One sentence for the technician: how much agrees and what to review first
        (``marks``: where the disagreeing epochs are shown)."""
        if not self.n_compared:
            return (f"{self.peer} and the model have no epoch both staged, so the night was "
                    "not cross-checked.")
        share = f"{self.agreement * 100:.0f} %"
        if not self.n_disagree:
            return (f"{self.peer} stages all {self.n_compared} epochs as the model does "
                    f"({share} agreement).")
        first, stop = self.longest_run()
        clock = ""
        if self.start_time is not None:
            on, off = (self.start_time + dt.timedelta(seconds=e * self.epoch_sec)
                       for e in (first, stop))
            clock = f" ({on:%H:%M:%S}-{off:%H:%M:%S})"
        text = (f"{self.peer} stages {self.n_disagree} of {self.n_compared} epochs differently "
                f"from the model ({share} agreement; the longest stretch is epochs "
                f"{first + 1}-{stop}{clock}, {_minutes(stop - first, self.epoch_sec)}); {marks}: "
                "review them first.")
        if self.low:
            text += (f" On our synthetic test nights agreement under "
                     f"{LOW_AGREEMENT * 100:.0f} % went with a model wrong on much of the "
                     f"night (and {self.peer} errs too): review the whole night.")
        return text

    def to_dict(self) -> dict:
        first, stop = self.longest_run()
        return {"peer": self.peer, "n_compared": self.n_compared,
                "n_disagree": self.n_disagree,
                "agreement": None if not self.n_compared else round(self.agreement, 4),
                "low": self.low, "longest_run": [first, stop], "sentence": self.sentence()}


def _minutes(n_epochs: int, epoch_sec: float) -> str:
    minutes = n_epochs * epoch_sec / 60.0
    return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"


def cross_check(model: Hypnogram, peer: Hypnogram, *, name: str | None = None
                ) -> CrossCheck:
    """Compare ``model``'s stages with ``peer``'s, epoch by epoch.

    Parameters
    ----------
    model, peer : Hypnogram
        The same recording's epochs (same count and epoch length).
    name : str
        How the sentences name the peer (default: ``peer.scorer``).

    Raises
    ------
    CrossCheckError
        When the two do not cover the same epochs.
    """
    if model.n_epochs != peer.n_epochs or abs(model.epoch_sec - peer.epoch_sec) > 1e-9:
        raise CrossCheckError(f"The model scored {model.n_epochs} epochs of "
                              f"{model.epoch_sec:g} s and the peer {peer.n_epochs} of "
                              f"{peer.epoch_sec:g} s; they are not the same night.")
    return CrossCheck(name or peer.scorer or "the peer", model.stages.copy(),
                      peer.stages.copy(), model.epoch_sec, model.start_time)


def annotate(model: Hypnogram, check: CrossCheck) -> Hypnogram:
    """``model`` with the check's note added to each disagreeing epoch's note and
    ``meta["cross_check"]`` (the summary) set; stages and probabilities are untouched."""
    if len(check.model_stages) != model.n_epochs or not np.array_equal(
            check.model_stages, model.stages):
        raise CrossCheckError("This cross-check was made for another hypnogram.")
    old = model.notes or [""] * model.n_epochs
    notes = ["; ".join(n for n in (o, check.note(i)) if n) for i, o in enumerate(old)]
    notices = [*model.meta.get("notices", []), check.sentence()]
    return model.copy(notes=notes, meta={**model.meta, "cross_check": check.to_dict(),
                                         "notices": notices})
