"""Scorers side by side: where the technician, the model runs and imported scorers differ,
their pairwise agreement, and the consensus of three or more.

Two scorings **differ** on an epoch when both gave it a label (a stage, or Artifact) and
the labels are not the same; an Unscored epoch (a model that refused it, a hypnogram
shorter than the night) abstains and differs from nothing. Every such epoch is listed
with what each scorer said.

The **consensus** of three or more scorers is the majority vote per epoch among those
who labelled it (:func:`app.core.scoring.agreement.consensus`, ``tie="unscored"``): a
tie is left Unscored and listed, for the technician to decide, rather than broken by a
rule the technician did not choose. Scoring against a multi-scorer consensus is how
inter-scorer reliability is measured (Danker-Hopfe et al. 2009, *J Sleep Res*
18:74-84: AASM kappa 0.76 between scorers of seven European labs) and how automatic
staging was judged against six experts (Stephansen et al. 2018, *Nat Commun* 9:5229).
Pairwise agreement (accuracy, Cohen's kappa, per-stage F1) is
:func:`app.core.scoring.agreement.agreement` for each pair, over the epochs both staged.

Examples
--------
>>> import numpy as np
>>> c = compare_scorers({"tech": np.array([0, 2, 2, 3]), "model": np.array([0, 3, 3, 3]),
...                      "lab": np.array([0, 1, 3, -1])})
>>> [d.describe() for d in c.differences]
['Epoch 2: tech N2, model N3, lab N1', 'Epoch 3: tech N2, model N3, lab N3']
>>> c.consensus.labels(), c.ties.tolist()
(['W', 'Unscored', 'N3', 'N3'], [1])
>>> round(c.kappa("tech", "model"), 2)
0.33
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.core.scoring.agreement import Agreement, AgreementError, agreement, consensus
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage

__all__ = ["Difference", "ScorerComparison", "SideBySide", "compare_scorers"]

MIN_CONSENSUS = 3


@dataclass(frozen=True)
class Difference:
    """One epoch where scorers differ: ``said`` is (scorer, label) for every scorer, in
    the order given ("Unscored" where one did not label it)."""

    epoch: int
    said: tuple[tuple[str, str], ...]
    start_time: dt.datetime | None = None
    epoch_sec: float = 30.0

    def describe(self) -> str:
        """"Epoch 42 (22:51:00): technician N2, model #1 N3, lab.xml N2" (epochs from 1)."""
        when = ""
        if self.start_time is not None:
            at = self.start_time + dt.timedelta(seconds=self.epoch * self.epoch_sec)
            when = f" ({at:%H:%M:%S})"
        return f"Epoch {self.epoch + 1}{when}: " + ", ".join(f"{who} {what}"
                                                            for who, what in self.said)


@dataclass(frozen=True)
class ScorerComparison:
    """Several scorings of one night, compared (see the module)."""

    names: tuple[str, ...]
    stages: np.ndarray                 # (n_scorers, n_epochs) stage codes
    differences: tuple[Difference, ...]
    pairwise: dict[tuple[str, str], Agreement]  # (a, b) for a before b in ``names``
    consensus: Hypnogram | None        # None with fewer than three scorers
    ties: np.ndarray                   # epochs the consensus left Unscored for a tie

    def agreement(self, a: str, b: str) -> Agreement:
        """``b`` against ``a`` (``a``'s stages are the confusion matrix's rows).

        Examples
        --------
        >>> comparison.agreement("Technician", "#1 psg-lens-default").kappa  # doctest: +SKIP
        0.71
        """
        for name in (a, b):
            if name not in self.names:
                raise AgreementError(f"There is no scorer named {name!r}; the scorers are "
                                     f"{', '.join(self.names)}.")
        if (a, b) in self.pairwise:
            return self.pairwise[(a, b)]
        return agreement(self.stages[self.names.index(a)], self.stages[self.names.index(b)])

    def kappa(self, a: str, b: str) -> float:
        return self.agreement(a, b).kappa

    def kappa_matrix(self) -> np.ndarray:
        """(n, n) Cohen's kappa between every two scorers (1 on the diagonal)."""
        k = len(self.names)
        out = np.eye(k)
        for (a, b), agr in self.pairwise.items():
            i, j = self.names.index(a), self.names.index(b)
            out[i, j] = out[j, i] = agr.kappa
        return out

    def consensus_agreement(self) -> dict[str, Agreement]:
        """Each scorer against the consensus (its reference rows), for three or more."""
        if self.consensus is None:
            return {}
        return {n: agreement(self.consensus, self.stages[i]) for i, n in enumerate(self.names)}


def _label(code: int) -> str:
    return Stage(int(code)).label


def compare_scorers(scorers: Mapping[str, Hypnogram | np.ndarray] |
                    Sequence[tuple[str, Hypnogram | np.ndarray]]) -> ScorerComparison:
    """Compare scorings of one night (name -> hypnogram or stage codes, in display order).

    Raises
    ------
    AgreementError
        For fewer than two scorings, two of one name, or scorings of different lengths
        (the message names the lengths).
    """
    pairs = list(scorers.items()) if isinstance(scorers, Mapping) else list(scorers)
    if len(pairs) < 2:
        raise AgreementError("Comparing scorers needs at least two scorings; run the model "
                             "or import another scorer's hypnogram.")
    names = tuple(str(n) for n, _ in pairs)
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise AgreementError(f"Two scorings are both named {twice!r}; name each scorer once.")
    hyps = [h for _, h in pairs]
    arrays = [np.asarray(h.stages if isinstance(h, Hypnogram) else h, np.int16) for h in hyps]
    for n, arr in zip(names[1:], arrays[1:]):
        if arr.shape != arrays[0].shape:
            raise AgreementError(f"{names[0]} has {arrays[0].size} epochs but {n} has "
                                 f"{arr.size}; only scorings of the same night and epochs can "
                                 "be compared.")
    stages = np.stack(arrays)
    first = next((h for h in hyps if isinstance(h, Hypnogram)), None)
    start = first.start_time if first is not None else None
    epoch_sec = first.epoch_sec if first is not None else 30.0

    labelled = stages != int(Stage.UNSCORED)
    lo = np.where(labelled, stages, np.iinfo(np.int16).max).min(axis=0)
    hi = np.where(labelled, stages, np.iinfo(np.int16).min).max(axis=0)
    differ = np.flatnonzero(labelled.sum(axis=0) >= 2)
    differ = differ[lo[differ] != hi[differ]]
    diffs = tuple(Difference(int(e), tuple((n, _label(stages[i, e]))
                                           for i, n in enumerate(names)), start, epoch_sec)
                  for e in differ)

    pairwise = {(names[i], names[j]): agreement(stages[i], stages[j])
                for i in range(len(names)) for j in range(i + 1, len(names))}
    cons, ties = None, np.zeros(0, np.int64)
    if len(names) >= MIN_CONSENSUS:
        cons = consensus(list(stages), tie="unscored")
        cons = Hypnogram(cons.stages, epoch_sec=epoch_sec, start_time=start, scorer="consensus")
        # Unscored with a vote cast can only be a tie (agreement.consensus)
        ties = np.flatnonzero((cons.stages == int(Stage.UNSCORED)) & labelled.any(axis=0))
    return ScorerComparison(names, stages, diffs, pairwise, cons, ties)


class SideBySide:
    """Every scoring of the open study, compared (a mixin of the workspace; it uses
    ``technician``, ``runs`` and ``imported``)."""

    def scorers(self) -> dict[str, Hypnogram]:
        """Name -> hypnogram: the technician first, then each model run (by its label,
        "#3 psg-lens-default"), then each imported hypnogram (by its scorer or file).

        Examples
        --------
        >>> list(ws.scorers())  # doctest: +SKIP
        ['Technician', '#1 psg-lens-default-tiny', 'night.xml']
        """
        out: dict[str, Hypnogram] = {"Technician": self.technician}
        for run in self.runs:
            out[_unique_name(run.label, out)] = run.hypnogram
        for hyp in self.imported:
            out[_unique_name(hyp.scorer or "imported", out)] = hyp
        return out

    def compare_scorers(self, names: Sequence[str] | None = None) -> ScorerComparison:
        """The scorings ``names`` (default: all of :meth:`scorers`) side by side: where
        they differ, pairwise kappa, and with three or more the consensus and its ties.

        Examples
        --------
        >>> c = ws.compare_scorers()  # doctest: +SKIP
        >>> c.differences[0].describe()  # doctest: +SKIP
        'Epoch 42 (22:51:00): Technician N2, #1 psg-lens-default N3, night.xml N2'
        """
        every = self.scorers()
        chosen = list(every) if names is None else list(names)
        unknown = [n for n in chosen if n not in every]
        if unknown:
            raise AgreementError(f"There is no scoring named {unknown[0]!r}; this study has "
                                 f"{', '.join(every)}.")
        return compare_scorers([(n, every[n]) for n in chosen])


def _unique_name(name: str, taken: Mapping[str, object]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name} ({k})" in taken:
        k += 1
    return f"{name} ({k})"
