"""The Hypnogram: one stage per epoch, with where each came from.

Examples
--------
>>> from app.core.scoring.hypnogram import Hypnogram
>>> h = Hypnogram.from_labels(["W", "N1", "N2", "N2", "REM"], scorer="tech-01")
>>> h.n_epochs, h.duration_sec
(5, 150.0)
>>> h.counts()["N2"]
2
>>> h.resample(60.0).labels()  # majority, ties to the earlier stage; partial epoch dropped
['W', 'N2']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from app.core.scoring.stages import ALL_STAGES, SCORED_STAGES, Stage, parse_stages, stage_labels
from app.errors import PSGLensError


class Source(IntEnum):
    """Who set an epoch's stage."""

    NONE = 0
    MODEL = 1
    TECHNICIAN = 2
    IMPORTED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class HypnogramError(PSGLensError, ValueError):
    """A hypnogram that does not fit what it is used with."""


@dataclass(eq=False)
class Hypnogram:
    """Per-epoch sleep stages.

    Parameters
    ----------
    stages : array of int
        Stage codes (see :class:`app.core.scoring.stages.Stage`), one per epoch.
    epoch_sec : float
        Epoch length in seconds (30 for AASM; DREAMS files use 5).
    start_time : datetime, optional
        Clock time of the first epoch's onset.
    probabilities : array (n_epochs, 5), optional
        Model probabilities over W, N1, N2, N3, REM; rows sum to 1.
    sources : array of int, optional
        Per-epoch :class:`Source`; defaults to ``source`` for scored epochs.
    scorer : str
        Who scored it (a technician id, a model bundle id, a file name).
    notes : list of str, optional
        One sentence per epoch ("" for none), e.g. why the model did not stage it.
    """

    stages: np.ndarray
    epoch_sec: float = 30.0
    start_time: dt.datetime | None = None
    probabilities: np.ndarray | None = None
    sources: np.ndarray | None = None
    scorer: str = ""
    source: Source = Source.IMPORTED
    meta: dict = field(default_factory=dict)
    notes: list[str] | None = None

    def __post_init__(self) -> None:
        stages = np.asarray(self.stages)
        if stages.ndim != 1:
            raise HypnogramError("A hypnogram is a 1-D sequence of stages, one per epoch.")
        valid = {int(s) for s in ALL_STAGES}
        bad = set(np.unique(stages).tolist()) - valid
        if bad:
            raise HypnogramError(f"Stage codes {sorted(bad)} are not stages; use "
                                 "Hypnogram.from_labels or from_ints to map a file's codes.")
        self.stages = stages.astype(np.int8)
        if not self.epoch_sec > 0:
            raise HypnogramError(f"Epoch length must be positive, not {self.epoch_sec}.")
        self.epoch_sec = float(self.epoch_sec)
        if self.probabilities is not None:
            p = np.asarray(self.probabilities, dtype=np.float32)
            if p.shape != (len(stages), len(SCORED_STAGES)):
                raise HypnogramError(f"Probabilities must be {len(stages)} x 5, not {p.shape}.")
            self.probabilities = p
        if self.sources is None:
            src = np.where(stages == Stage.UNSCORED, Source.NONE, int(self.source))
            self.sources = src.astype(np.int8)
        else:
            self.sources = np.asarray(self.sources, dtype=np.int8)
            if self.sources.shape != stages.shape:
                raise HypnogramError("There must be one source per epoch.")
        if self.notes is not None:
            self.notes = [str(n) for n in self.notes]
            if len(self.notes) != len(stages):
                raise HypnogramError(f"There must be one note per epoch ({len(stages)}), "
                                     f"not {len(self.notes)}.")

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_labels(cls, labels: Sequence[str], *, unknown: str = "raise",
                    source_name: str = "", **kwargs) -> Hypnogram:
        """From text labels ("W", "Sleep stage 2", "R", ...); see :func:`parse_stage`."""
        return cls(parse_stages(labels, unknown=unknown, source_name=source_name), **kwargs)

    @classmethod
    def from_ints(cls, codes: Sequence[int], convention: str = "psglens", *,
                  unknown: str = "raise", source_name: str = "", **kwargs) -> Hypnogram:
        """From integer codes in a named convention ("yasa", "dreem", "nsrr", ...)."""
        from app.core.scoring.stages import stages_from_ints

        return cls(stages_from_ints(codes, convention, unknown=unknown,
                                    source_name=source_name), **kwargs)

    @classmethod
    def unscored(cls, n_epochs: int, **kwargs) -> Hypnogram:
        return cls(np.full(n_epochs, Stage.UNSCORED, np.int8), **kwargs)

    # -- views ------------------------------------------------------------------------
    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)

    def __len__(self) -> int:
        return self.n_epochs

    @property
    def duration_sec(self) -> float:
        return self.n_epochs * self.epoch_sec

    def labels(self) -> list[str]:
        return stage_labels(self.stages)

    def onsets(self) -> np.ndarray:
        """Epoch onsets in seconds from the hypnogram's start."""
        return np.arange(self.n_epochs) * self.epoch_sec

    def counts(self) -> dict[str, int]:
        return {s.label: int(np.sum(self.stages == s)) for s in ALL_STAGES}

    def confidence(self) -> np.ndarray | None:
        """Per-epoch top probability, or None without probabilities."""
        return None if self.probabilities is None else self.probabilities.max(axis=1)

    def equals(self, other: Hypnogram, *, check_probabilities: bool = False) -> bool:
        same = (np.array_equal(self.stages, other.stages)
                and self.epoch_sec == other.epoch_sec)
        if same and check_probabilities:
            a, b = self.probabilities, other.probabilities
            same = (a is None) == (b is None) and (a is None or np.allclose(a, b, atol=1e-4))
        return same

    def copy(self, **changes) -> Hypnogram:
        fields = dict(stages=self.stages.copy(), epoch_sec=self.epoch_sec,
                      start_time=self.start_time,
                      probabilities=None if self.probabilities is None
                      else self.probabilities.copy(),
                      sources=self.sources.copy(), scorer=self.scorer, source=self.source,
                      meta=dict(self.meta),
                      notes=None if self.notes is None else list(self.notes))
        fields.update(changes)
        return Hypnogram(**fields)

    # -- transformations --------------------------------------------------------------
    def set_stage(self, epoch: int, stage: Stage | int, source: Source = Source.TECHNICIAN
                  ) -> None:
        if not 0 <= epoch < self.n_epochs:
            raise IndexError(f"Epoch {epoch + 1} is outside this night (1-{self.n_epochs}).")
        self.stages[epoch] = int(Stage(int(stage)))
        self.sources[epoch] = int(source)

    def crop(self, start_epoch: int, stop_epoch: int | None = None) -> Hypnogram:
        stop = self.n_epochs if stop_epoch is None else stop_epoch
        if not 0 <= start_epoch <= stop <= self.n_epochs:
            raise HypnogramError(f"Cannot crop epochs {start_epoch}-{stop} of a "
                                 f"{self.n_epochs}-epoch hypnogram.")
        start_time = (None if self.start_time is None else
                      self.start_time + dt.timedelta(seconds=start_epoch * self.epoch_sec))
        sl = slice(start_epoch, stop)
        return self.copy(stages=self.stages[sl].copy(), sources=self.sources[sl].copy(),
                         probabilities=None if self.probabilities is None
                         else self.probabilities[sl].copy(), start_time=start_time,
                         notes=None if self.notes is None else self.notes[sl])

    def resample(self, epoch_sec: float) -> Hypnogram:
        """Change the epoch length.

        Finer epochs repeat each stage. Coarser epochs (an integer multiple) take the
        majority of the sub-epochs; a tie goes to the stage that comes first in time
        (the AASM rule that an epoch is scored by what starts it), and probabilities
        are averaged.
        """
        ratio = epoch_sec / self.epoch_sec
        if np.isclose(ratio, 1.0):
            return self.copy()
        if ratio < 1:
            k = 1 / ratio
            if not np.isclose(k, round(k)):
                raise HypnogramError(f"{self.epoch_sec:g}-s epochs cannot be split into "
                                     f"{epoch_sec:g}-s epochs evenly.")
            k = int(round(k))
            probs = None if self.probabilities is None else np.repeat(self.probabilities, k, 0)
            return self.copy(stages=np.repeat(self.stages, k), epoch_sec=epoch_sec,
                             sources=np.repeat(self.sources, k), probabilities=probs,
                             notes=None if self.notes is None
                             else [n for n in self.notes for _ in range(k)])
        if not np.isclose(ratio, round(ratio)):
            raise HypnogramError(f"{self.epoch_sec:g}-s epochs cannot be merged into "
                                 f"{epoch_sec:g}-s epochs evenly.")
        k = int(round(ratio))
        n = self.n_epochs // k  # a trailing partial epoch is dropped
        blocks = self.stages[: n * k].reshape(n, k)
        out = np.empty(n, np.int8)
        for i, row in enumerate(blocks):
            values, counts = np.unique(row, return_counts=True)
            winners = set(values[counts == counts.max()].tolist())
            out[i] = next(s for s in row if s in winners)  # earliest of the tied stages
        srcs = self.sources[: n * k].reshape(n, k).max(axis=1)
        probs = (None if self.probabilities is None else
                 self.probabilities[: n * k].reshape(n, k, -1).mean(axis=1))
        notes = None if self.notes is None else [
            " ".join(dict.fromkeys(n for n in self.notes[i * k:(i + 1) * k] if n))
            for i in range(n)]
        return self.copy(stages=out, epoch_sec=epoch_sec, sources=srcs, probabilities=probs,
                         notes=notes)

    def offset_sec(self, recording_start: dt.datetime | None) -> float:
        """Seconds from the recording's start to this hypnogram's (0 when either is
        unknown)."""
        if self.start_time is None or recording_start is None:
            return 0.0
        return (self.start_time.replace(tzinfo=None)
                - recording_start.replace(tzinfo=None)).total_seconds()

    def align(self, recording_start: dt.datetime | None, recording_duration_sec: float,
              *, offset_sec: float | None = None) -> Hypnogram:
        """Fit this hypnogram onto a recording: crop what lies outside, pad with Unscored.

        The offset (hypnogram onset minus recording start, seconds) comes from the two
        start times, or from ``offset_sec``. It must be a whole number of epochs.
        """
        if offset_sec is None:
            offset_sec = self.offset_sec(recording_start)
        shift = offset_sec / self.epoch_sec
        if not np.isclose(shift, round(shift), atol=1e-3):
            raise HypnogramError(
                f"The hypnogram starts {offset_sec:g} s after the recording, which is not a "
                f"whole number of {self.epoch_sec:g}-s epochs; set the offset by hand.")
        shift = int(round(shift))
        n_rec = int(recording_duration_sec // self.epoch_sec)
        stages = np.full(n_rec, Stage.UNSCORED, np.int8)
        sources = np.zeros(n_rec, np.int8)
        probs = None if self.probabilities is None else np.zeros((n_rec, 5), np.float32)
        src_lo, dst_lo = max(0, -shift), max(0, shift)
        n = max(0, min(self.n_epochs - src_lo, n_rec - dst_lo))
        stages[dst_lo:dst_lo + n] = self.stages[src_lo:src_lo + n]
        sources[dst_lo:dst_lo + n] = self.sources[src_lo:src_lo + n]
        if probs is not None:
            probs[dst_lo:dst_lo + n] = self.probabilities[src_lo:src_lo + n]
            probs[probs.sum(axis=1) == 0] = 0.2  # padded epochs: no information
        notes = None
        if self.notes is not None:
            notes = [""] * n_rec
            notes[dst_lo:dst_lo + n] = self.notes[src_lo:src_lo + n]
        return self.copy(stages=stages, sources=sources, probabilities=probs,
                         start_time=recording_start, notes=notes)

    def check_length(self, n_epochs: int, *, name: str = "The hypnogram") -> None:
        """Raise a clear error when the epoch count does not match a study's."""
        if self.n_epochs != n_epochs:
            raise HypnogramError(
                f"{name} has {self.n_epochs} epochs but the study has {n_epochs} "
                f"({n_epochs * self.epoch_sec / 3600:.2f} h); it belongs to another "
                "recording or needs aligning (start time or offset).")
