"""Agreement between scorings: accuracy, Cohen's kappa, F1, consensus of several scorers.

Which epochs are compared: only those that **both** hypnograms scored as one of the five
stages (W, N1, N2, N3, REM). An epoch that either left Unscored or marked Artifact is
excluded (and counted in ``n_excluded``): Artifact means "not stageable", and a model
never predicts it, so it is no class of its own here.

Undefined values follow scikit-learn: kappa is NaN when both sides use one and the same
single stage; a stage absent from both sides has NaN F1 and is left out of macro-F1
(``f1_score(..., zero_division=np.nan)``).

Examples
--------
>>> from app.core.scoring.hypnogram import Hypnogram
>>> from app.core.scoring.agreement import agreement
>>> ref = Hypnogram.from_labels(["W", "N1", "N2", "N2", "N3", "REM", "Unscored"])
>>> oth = Hypnogram.from_labels(["W", "N2", "N2", "N2", "N3", "REM", "W"])
>>> a = agreement(ref, oth)
>>> a.n_epochs, a.n_excluded, round(a.accuracy, 3)
(6, 1, 0.833)
>>> a.f1["N1"], a.f1["N2"]
(0.0, 0.8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import STAGE_LABELS, Stage
from app.errors import PSGLensError

N_STAGES = len(STAGE_LABELS)


class AgreementError(PSGLensError, ValueError):
    """Two scorings cannot be compared (different lengths or epochs)."""


@dataclass(frozen=True)
class Agreement:
    """How well ``other`` agrees with ``reference`` over the epochs both staged.

    ``confusion[i, j]`` counts epochs the reference scored stage ``i`` and the other
    scored stage ``j`` (order W, N1, N2, N3, REM).
    """

    n_epochs: int
    n_excluded: int
    accuracy: float
    kappa: float
    macro_f1: float
    f1: dict[str, float]
    confusion: np.ndarray

    def to_dict(self) -> dict[str, object]:
        return {"n_epochs": self.n_epochs, "n_excluded": self.n_excluded,
                "accuracy": self.accuracy, "kappa": self.kappa, "macro_f1": self.macro_f1,
                "f1": dict(self.f1), "confusion": self.confusion.tolist(),
                "labels": list(STAGE_LABELS)}


def _stages(h: Hypnogram | np.ndarray | Sequence[int]) -> np.ndarray:
    return np.asarray(h.stages if isinstance(h, Hypnogram) else h, dtype=np.int16)


def _check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise AgreementError(f"{name_a} has {a.size} epochs but {name_b} has {b.size}; "
                             "only scorings of the same night and epochs can be compared.")


def confusion_matrix(reference: Hypnogram | np.ndarray, other: Hypnogram | np.ndarray
                     ) -> np.ndarray:
    """5 x 5 counts over the epochs both staged (rows reference, columns other)."""
    a, b = _stages(reference), _stages(other)
    _check_same_length(a, b, "The reference", "the other scoring")
    keep = (a >= 0) & (b >= 0)
    flat = a[keep] * N_STAGES + b[keep]
    return np.bincount(flat, minlength=N_STAGES ** 2).reshape(N_STAGES, N_STAGES)


def kappa_from_confusion(cm: np.ndarray) -> float:
    """Cohen's kappa from a confusion matrix, computed as scikit-learn does."""
    cm = np.asarray(cm, dtype=np.float64)
    n = cm.sum()
    if n == 0:
        return float("nan")
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / n
    off = ~np.eye(cm.shape[0], dtype=bool)
    denom = expected[off].sum()
    if denom == 0:  # both sides one and the same single stage: chance agreement is 1
        return float("nan")
    return float(1.0 - cm[off].sum() / denom)


def f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-stage F1 = 2TP / (2TP + FP + FN); NaN for a stage absent from both sides."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # = 2TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / denom, np.nan)


def agreement(reference: Hypnogram | np.ndarray, other: Hypnogram | np.ndarray
              ) -> Agreement:
    """Compare ``other`` against ``reference`` epoch by epoch.

    Parameters
    ----------
    reference, other : Hypnogram or array of stage codes
        The same night, the same epochs. Epochs either side left Unscored or marked
        Artifact are excluded.

    Returns
    -------
    Agreement
        Accuracy, Cohen's kappa, macro-F1 over the stages present, per-stage F1 and the
        confusion matrix; NaN metrics when no epoch is left to compare.

    Raises
    ------
    AgreementError
        When the two differ in length (the message names both lengths).

    Examples
    --------
    >>> import numpy as np
    >>> a = agreement(np.array([0, 2, 2, 4]), np.array([0, 2, 2, 4]))
    >>> a.accuracy, a.kappa, a.macro_f1
    (1.0, 1.0, 1.0)
    """
    cm = confusion_matrix(reference, other)
    a = _stages(reference)
    n = int(cm.sum())
    f1 = f1_from_confusion(cm)
    defined = f1[~np.isnan(f1)]
    return Agreement(
        n_epochs=n,
        n_excluded=int(a.size - n),
        accuracy=float(np.trace(cm) / n) if n else float("nan"),
        kappa=kappa_from_confusion(cm),
        macro_f1=float(defined.mean()) if defined.size else float("nan"),
        f1={lab: float(v) for lab, v in zip(STAGE_LABELS, f1, strict=True)},
        confusion=cm,
    )


def _stack(hyps: Sequence[Hypnogram | np.ndarray]) -> np.ndarray:
    if len(hyps) == 0:
        raise AgreementError("A consensus needs at least one scoring.")
    arrays = [_stages(h) for h in hyps]
    for i, arr in enumerate(arrays[1:], start=2):
        _check_same_length(arr, arrays[0], f"Scoring {i}", "scoring 1")
    return np.stack(arrays)


def scorer_ranking(hyps: Sequence[Hypnogram | np.ndarray]) -> np.ndarray:
    """Each scorer's mean Cohen's kappa against every other scorer (NaN kappas skipped)."""
    arr = _stack(hyps)
    k = len(arr)
    kap = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            kap[i, j] = kap[j, i] = kappa_from_confusion(confusion_matrix(arr[i], arr[j]))
    with np.errstate(all="ignore"):
        mean = np.array([np.nanmean(row) if np.any(~np.isnan(row)) else 0.0 for row in kap])
    return mean


def consensus(hyps: Sequence[Hypnogram | np.ndarray], *, tie: str = "best_scorer"
              ) -> Hypnogram:
    """Majority vote of several scorings of one night, epoch by epoch.

    Each scorer votes with the stage it gave (Artifact is a vote too); Unscored abstains,
    and an epoch with no vote stays Unscored.

    Parameters
    ----------
    hyps : sequence of Hypnogram or stage arrays
        Scorings of the same night (same number of epochs).
    tie : {"best_scorer", "unscored"}
        When several stages share the most votes: ``"best_scorer"`` takes, among the tied
        stages, the one given by the scorer who agrees most with the others (highest mean
        Cohen's kappa against each other scorer, see :func:`scorer_ranking`; ties in
        that rank go to the earlier scorer). ``"unscored"`` leaves the epoch Unscored.

    Returns
    -------
    Hypnogram
        The consensus (epoch length and start time of the first input when it is one).

    Examples
    --------
    >>> import numpy as np
    >>> c = consensus([np.array([0, 2, 2]), np.array([0, 2, 3]), np.array([1, 3, 3])])
    >>> c.labels()
    ['W', 'N2', 'N3']
    """
    if tie not in ("best_scorer", "unscored"):
        raise ValueError(f"tie= must be 'best_scorer' or 'unscored', not {tie!r}")
    arr = _stack(hyps)
    codes = np.array([int(s) for s in Stage], dtype=np.int16)  # W..REM, Unscored, Artifact
    votes = np.stack([(arr == c).sum(axis=0) for c in codes])  # (n_codes, n_epochs)
    votes[codes == Stage.UNSCORED] = 0
    top = votes.max(axis=0)
    winners = (votes == top) & (top > 0)
    n_win = winners.sum(axis=0)
    out = np.full(arr.shape[1], int(Stage.UNSCORED), np.int16)
    single = n_win == 1
    out[single] = codes[np.argmax(winners[:, single], axis=0)]
    tied = np.flatnonzero(n_win > 1)
    if tie == "best_scorer" and tied.size:
        order = np.argsort(-scorer_ranking(arr), kind="stable")
        for e in tied:
            ok = set(codes[winners[:, e]].tolist())
            out[e] = next(int(arr[s, e]) for s in order if int(arr[s, e]) in ok)
    first = hyps[0]
    kwargs = ({"epoch_sec": first.epoch_sec, "start_time": first.start_time}
              if isinstance(first, Hypnogram) else {})
    return Hypnogram(out.astype(np.int8), scorer="consensus", **kwargs)


def leave_one_out(hyps: Sequence[Hypnogram | np.ndarray], *, tie: str = "best_scorer"
                  ) -> list[Agreement]:
    """Each scorer against the consensus of the OTHER scorers (the consensus is the
    reference: confusion rows), in the order given.

    Examples
    --------
    >>> import numpy as np
    >>> res = leave_one_out([np.array([0, 2, 2, 4]), np.array([0, 2, 2, 4]),
    ...                      np.array([0, 2, 3, 4])])
    >>> [round(r.accuracy, 2) for r in res]
    [1.0, 1.0, 0.75]
    """
    if len(hyps) < 2:
        raise AgreementError("Leave-one-out agreement needs at least two scorings.")
    _stack(hyps)  # length check before any work
    out = []
    for i, h in enumerate(hyps):
        others = [o for j, o in enumerate(hyps) if j != i]
        out.append(agreement(consensus(others, tie=tie), h))
    return out
