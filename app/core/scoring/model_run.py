"""A model run as the workspace shows it: its session record, the model's own per-epoch
output, and the stages shown (the same, or smoothed over the night with the run's fit).

The session (:mod:`app.core.scoring.session`) keeps what the model said for each epoch;
a run whose meta carries a ``smoothing`` fit (:mod:`app.core.inference.night_smoothing`)
shows the whole-night posteriors instead, recomputed as batches arrive and on reopening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from app.core.scoring.hypnogram import Hypnogram
from app.core.signals.render_spec import RenderSpec

__all__ = ["RunInfo"]


@dataclass
class RunInfo:
    """One model run: its session record and its (growing) hypnogram."""

    run_id: int
    bundle_id: str
    spec: RenderSpec | None
    meta: dict
    hypnogram: Hypnogram
    answers: dict[int, dict] = field(default_factory=dict)  # what a chat model wrote
    started_at: str = ""  # UTC ISO-8601, as the session keeps it
    _notes: list[str] | None = field(default=None, repr=False, compare=False)
    _refused: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the model's own per-epoch stages and probabilities, as the session keeps them; the
    # same object as ``hypnogram`` unless the run is smoothed over the night
    own: Hypnogram | None = field(default=None, repr=False, compare=False)
    _capped: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the whole-night smoothing this run's stages use (NightSmoothing), or None; read once
    # from the run's record, which never changes
    smoothing: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from app.core.inference.night_smoothing import NightSmoothing

        try:
            self.smoothing = NightSmoothing.from_card(self.meta.get("smoothing"))
        except (TypeError, ValueError):  # a record PSG Lens cannot read: the model's own
            self.smoothing = None
        if self.own is None:
            self.own = self.hypnogram.copy() if self.smoothing is not None else self.hypnogram
        self.restage()

    def restage(self) -> None:
        """Recompute the shown stages from the model's own over the whole night (a smoothed
        run; epochs it has not staged stay Unscored, capped ones stay capped)."""
        smoothing = self.smoothing
        if smoothing is None or self.own is self.hypnogram:
            return
        from app.core.inference.night_smoothing import restage
        from app.core.signals.quality import UNLIKE

        own = self.own
        if self._capped is None:
            report = self._check()
            self._capped = (report.status == UNLIKE if report is not None
                            and len(report.status) == len(own.stages)
                            else np.zeros(len(own.stages), bool))
        hyp = self.hypnogram
        hyp.stages[:], hyp.probabilities[:] = restage(smoothing, own.stages,
                                                      own.probabilities, self._capped)
        hyp.sources[:] = own.sources

    @property
    def looked_at_every_epoch(self) -> bool:
        """Every epoch staged or refused by the input check: the night is complete."""
        return self.n_done + len(self.refused_epochs()) >= len(self.hypnogram.stages)

    def night_warning(self) -> str:
        """The sentence a finished run gets when its night is unlike any real one."""
        from app.core.scoring.plausibility import implausible_night

        if not self.looked_at_every_epoch:
            return ""
        return implausible_night(self.hypnogram.stages, self.hypnogram.epoch_sec)

    def model_stage(self, epoch: int) -> tuple[int, float]:
        """What the model alone said for this epoch: (stage, its probability)."""
        p = self.own.probabilities[epoch]
        s = int(self.own.stages[epoch])
        return s, float(p[s]) if s >= 0 else float("nan")

    @property
    def label(self) -> str:
        return f"#{self.run_id} {self.bundle_id}"

    @property
    def n_done(self) -> int:
        return int(np.sum(self.hypnogram.stages >= 0))

    def describe(self, *, dated: bool = True) -> str:
        """Which run this is, in words: "run 3, psg-lens-default-tiny/0.3.0, started
        2026-01-02 03:04 UTC" (``dated=False`` leaves the date out: it dates the night)."""
        text = f"run {self.run_id}, {self.bundle_id or 'unnamed model'}"
        if dated and self.started_at:
            text += f", started {_utc_minute(self.started_at)}"
        n, done = len(self.hypnogram.stages), self.n_done
        if done < n:
            text += f"; it staged {done} of {n} epochs, the others carry 0.2 for every stage"
        if self.smoothing is not None:
            text += "; stages and probabilities smoothed over the night"
        return text

    def _check(self):
        check = self.meta.get("input_check")
        if not check:
            return None
        from app.core.signals.quality import CheckReport

        try:
            return CheckReport.from_dict(check)
        except (KeyError, TypeError, ValueError):  # a record of another length: ignore it
            return None

    @property
    def mode(self) -> str | None:
        """``rationale`` or ``fast`` for a chat model's run; None for one-picture models."""
        return self.meta.get("mode")

    def answer(self, epoch: int) -> dict | None:
        """What the model wrote for this epoch (stage, rationale, rules, mode, note)."""
        return self.answers.get(int(epoch))

    def epoch_note(self, epoch: int) -> str:
        """What the input check (and a chat model's answer) said about this epoch."""
        if self._notes is None:
            report = self._check()
            self._notes = report.epoch_notes() if report is not None else []
            self._refused = (np.flatnonzero(report.status == 3) if report is not None
                             else np.zeros(0, np.int64))
        note = self._notes[epoch] if 0 <= epoch < len(self._notes) else ""
        extra = self._layout_note(epoch)
        return f"{note} {extra}".strip() if extra else note

    def _layout_note(self, epoch: int) -> str:
        from app.core.inference.layout import context_note, no_stage_note

        answer = self.answers.get(int(epoch))
        if answer is not None and answer.get("stage") is None:
            return no_stage_note(self.bundle_id, answer.get("note", ""))
        before, after = self.meta.get("layout_context") or (0, 0)
        n = len(self.hypnogram.stages)
        if (before or after) and (epoch < before or epoch >= n - after):
            return context_note(self.bundle_id, before, after)
        return ""

    def refused_epochs(self) -> np.ndarray:
        """Epochs the model looked at and did not stage (no usable EEG)."""
        self.epoch_note(0)
        return self._refused

    def check_summary(self) -> str:
        """The input check's one-line verdict for this run ("" without a check)."""
        check = self.meta.get("input_check")
        if not check:
            return ""
        problems = check.get("problems", [])
        if not problems:
            return "Input check: no problems found."
        from app.core.signals.quality import NOT_STAGED, UNLIKE, CheckReport

        try:
            status = CheckReport.from_dict(check).status
        except (KeyError, TypeError, ValueError):
            return f"Input check: {len(problems)} problem(s)."
        return (f"Input check: {len(problems)} problem(s); {int((status == NOT_STAGED).sum())} "
                f"epoch(s) not staged, {int((status == UNLIKE).sum())} with low confidence.")


def _utc_minute(iso: str) -> str:
    """A stored UTC ISO time as "2026-01-02 03:04 UTC" (unparsable text as it is)."""
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M") + (" UTC" if when.tzinfo is not None else "")
