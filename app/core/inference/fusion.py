"""The model and YASA together: one stage per epoch from both scorers' probabilities.

The embedded model reads the picture a technician sees; YASA (Vallat & Walker 2021,
*eLife* 10:e70092) reads spectral features of the same leads and was trained on real
PSG. They fail differently: on synthetic nights the model is ahead of YASA with a full
montage and far behind it with one EEG lead, and each errs on epochs the other gets
right. Their product of experts,

    p(stage) ∝ p_model(stage) ** w * p_yasa(stage) ** (1 - w),

keeps a stage both find likely and lets a confident scorer outvote an unsure one
(Hinton 2002, *Neural Comput* 14:1771-1800). ``w`` is fitted on held-out synthetic
nights by ``python bench/fusion.py`` and reported on other nights (see README, *Model
and YASA together*); it is a synthetic-night fit, not evidence of accuracy on patients.

The model's input check still decides what is staged: an epoch it refused (no usable
EEG) stays Unscored whatever YASA says, and an epoch unlike its training data keeps its
confidence capped. The model's own whole-night smoothing is not applied: YASA's
features already look at the epochs around each one.

Examples
--------
>>> import numpy as np
>>> fuse_probabilities(np.array([[0.6, 0.1, 0.1, 0.1, 0.1]]),
...                    np.array([[0.2, 0.5, 0.1, 0.1, 0.1]]), 0.5).argmax(axis=1)
array([0])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import STAGE_LABELS, Stage
from app.errors import ModelError

# the weight of the model's log-probabilities: the best of a 0.1-step grid on bench/
# fusion.py's 12 fit stagings (default-tiny 0.6.0; synthetic nights, seeds 960000-960201)
DEFAULT_WEIGHT = 0.5
_FLOOR = 1e-6  # a stage one scorer rules out entirely is not made impossible for both


def weight_for(present: set[str] | frozenset[str], figures: dict | None = None) -> float:
    """The model's weight for a study whose picture fills the ``present`` slots: the
    weight ``figures`` (a card's ``metrics.fusion``, as ``Bundle.fusion`` checks it) fitted
    for one EEG lead alone or for several leads, else :data:`DEFAULT_WEIGHT`."""
    if figures is None:
        return DEFAULT_WEIGHT
    return float(figures["weights"]["one EEG lead" if is_lone_lead(present)
                                    else "several leads"])


READINGS = "each such epoch's note gives both readings"  # where the notes are: the CSV's
STOPPED_BEFORE_PEER = ("Stopped before {peer} finished: the run keeps the model's own stages, "
                       "not fused with {peer}'s.")


def fusion_settings(given: float | None, present: set[str] | frozenset[str],
                    figures: dict | None) -> tuple[float, float]:
    """``(weight, temperature)`` of a fused run: a weight the user gave runs uncalibrated
    (the card's temperature was fitted for the card's weights); else the card's weight for
    these leads and its temperature (:func:`weight_for`)."""
    if given is not None:
        return float(given), 1.0
    return weight_for(present, figures), float((figures or {}).get("temperature", 1.0))


def present_slots(recording, spec, sources=None) -> set[str]:
    """The picture's slots ``recording`` fills (``sources``: a slot -> channel mapping,
    or the Source per row as from ``resolve_sources``)."""
    from app.core.signals.render import resolve_sources

    if sources is None or isinstance(sources, Mapping):
        sources = resolve_sources(recording, spec, sources)
    return {r.slot for r, s in zip(spec.rows, sources) if s is not None}


def is_lone_lead(present: set[str] | frozenset[str]) -> bool:
    """True when the picture's only filled slot is one EEG lead."""
    from app.core.signals.quality import EEG_SLOTS

    return len(present) == 1 and set(present) <= set(EEG_SLOTS)


def fused_result(present: set[str] | frozenset[str], figures: dict | None) -> dict | None:
    """The card's fused figures measured with exactly the ``present`` slots, or None."""
    if figures is None:
        return None
    return next((r for r in figures.get("results", []) if set(r["slots"]) == set(present)),
                None)


def fuse_probabilities(model: np.ndarray, peer: np.ndarray, weight: float) -> np.ndarray:
    """Rows of the normalised product ``model ** weight * peer ** (1 - weight)``.

    ``model`` and ``peer`` are (n_epochs, 5) probabilities; rows with NaN in either stay
    NaN (not staged). ``weight`` 1 is the model alone, 0 the peer alone.
    """
    model = np.asarray(model, np.float64)
    peer = np.asarray(peer, np.float64)
    if model.shape != peer.shape or model.ndim != 2:
        raise ModelError(f"The two scorers' probabilities do not line up ({model.shape} "
                         f"and {peer.shape}); both must stage the same epochs.")
    check_weight(weight)
    staged = ~(np.isnan(model).any(axis=1) | np.isnan(peer).any(axis=1))
    logp = (weight * np.log(np.clip(model[staged], _FLOOR, 1.0))
            + (1.0 - weight) * np.log(np.clip(peer[staged], _FLOOR, 1.0)))
    fused = np.exp(logp - logp.max(axis=1, keepdims=True, initial=-np.inf))
    out = np.full(model.shape, np.nan)
    out[staged] = fused / fused.sum(axis=1, keepdims=True)
    return out.astype(np.float32)


def check_weight(weight: float) -> float:
    """``weight`` if it is a number from 0 to 1, else a ModelError saying what it means."""
    if (isinstance(weight, bool) or not isinstance(weight, numbers.Real)
            or not math.isfinite(weight) or not 0.0 <= weight <= 1.0):
        raise ModelError(f"The model's weight in the fusion with YASA must be between 0 "
                         f"(YASA alone) and 1 (the model alone), not {weight!r}.")
    return float(weight)


def fuse_hypnograms(model: Hypnogram, peer: Hypnogram, weight: float,
                    temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(stages, probabilities)`` of the fusion of a model run (each picture alone) and a
    peer's run of the same night: epochs the model did not stage keep its stage
    (Unscored) and probabilities, and epochs its input check found unlike the training
    data keep a capped confidence. ``temperature`` calibrates the fused probabilities
    (:func:`.calibration.apply_temperature`; the stages do not change)."""
    from app.core.inference.calibration import apply_temperature
    from app.core.signals.quality import UNLIKE, CheckReport, temper

    staged = ((model.stages != int(Stage.UNSCORED))
              & ~np.isnan(peer.probabilities).any(axis=1))
    probs = fuse_probabilities(np.where(staged[:, None], model.probabilities, np.nan),
                               peer.probabilities, weight)
    if temperature != 1.0:
        probs[staged] = apply_temperature(probs[staged], temperature)
    if model.meta.get("input_check"):  # the check's caps still hold after the fusion
        unlike = (CheckReport.from_dict(model.meta["input_check"]).status == UNLIKE) & staged
        if unlike.any():
            probs[unlike] = temper(probs[unlike])
    stages = model.stages.copy()
    stages[staged] = probs[staged].argmax(axis=1)
    probs[~staged] = model.probabilities[~staged]  # refused: uniform, as the model gave
    return stages, probs


class FusedEngine:
    """Stage a study with a model engine and YASA, and fuse their probabilities.

    Parameters
    ----------
    model : StageEngine
        The fusion starts from each picture's own probabilities: the engine's whole-night
        smoothing, if it has one, is not applied in a fused run.
    peer : YasaEngine, optional
        Default: YASA with every lead it can read.
    weight : float, optional
        The model's share of the log-probabilities (0-1); default, per study, the weight
        the model's card records for its leads (:func:`weight_for`).

    Examples
    --------
    >>> engine = FusedEngine(StageEngine(bundle))                 # doctest: +SKIP
    >>> hyp = engine.score(recording)                              # doctest: +SKIP
    """

    def __init__(self, model, peer=None, *, weight: float | None = None) -> None:
        if peer is None:
            from app.core.inference.yasa_engine import YasaEngine

            peer = YasaEngine()
        self.model, self.peer = model, peer
        self.weight = None if weight is None else check_weight(weight)
        self.name = f"{model.name}+{peer.name}"
        self.notices: list[str] = []

    def describe(self, weight: float) -> str:
        """One line for the export's provenance and the report."""
        return (f"{self.name}; stages from the product of {self.model.name}'s "
                f"probabilities (weight {weight:g}) and {self.peer.name}'s "
                f"(weight {1 - weight:g})")

    def score(self, recording, **kw) -> Hypnogram:
        from app.core.inference.engine import drain

        return drain(self.predict(recording, **kw))

    def predict(self, recording, *, epochs: Sequence[int] | None = None,
                progress=None, should_stop=None,
                sources: Mapping[str, str] | None = None, check: Any = True
                ) -> Generator[Any, None, Hypnogram]:
        """Yield the model's batches (for progress); return the fused Hypnogram.

        ``sources``: a slot -> channel mapping both scorers use. YASA stages the whole
        night at once after the model's last batch.
        """
        hyp = yield from self.model.predict(recording, epochs=epochs, progress=progress,
                                            should_stop=should_stop, sources=sources,
                                            check=check, peer_advice=False,
                                            smooth=False)
        if hyp.meta.get("stopped"):
            return hyp  # a cancelled run keeps what the model scored, labelled as its own
        peer = self.peer.score(recording, epochs=epochs, sources=sources,
                               should_stop=should_stop)
        if peer.meta.get("stopped"):  # cancelled while the peer scored: the model's own
            self.notices = [*hyp.meta.get("notices", []), STOPPED_BEFORE_PEER.format(
                peer=self.peer.name)]
            hyp.meta.update(stopped=True, notices=list(self.notices))
            return hyp
        return self.combine(recording, hyp, peer, sources=sources, whole_night=epochs is None)

    def combine(self, recording, hyp: Hypnogram, peer: Hypnogram, *,
                sources: Mapping[str, str] | None = None, whole_night: bool = True
                ) -> Hypnogram:
        """The fused Hypnogram of a model run (each picture alone, ``smooth=False``) and
        the peer's run of the same epochs; ``predict`` runs both, an evaluation that has
        both already (:mod:`training.evaluate`) fuses them here."""
        from app.core.scoring.cross_check import cross_check
        from app.core.scoring.plausibility import implausible_night

        weight, temperature = fusion_settings(
            self.weight, present_slots(recording, self.model.spec, sources),
            self.model.bundle.fusion)
        stages, probs = fuse_hypnograms(hyp, peer, weight, temperature)
        # the model's night warning was about its own stages, not the fused ones
        self.notices = [n for n in hyp.meta.get("notices", [])
                        if n != hyp.meta.get("night_warning")]
        self.notices += [n for n in peer.meta.get("notices", []) if n not in self.notices]
        meta = {**hyp.meta, "model": self.name, "engine": "fused",
                "fusion": {"model": self.model.name, "peer": self.peer.name,
                           "weight": weight, "temperature": temperature,
                           "changed": int((stages != hyp.stages).sum()),
                           "peer_sources": peer.meta.get("sources")},
                "probabilities_from": self.describe(weight), "notices": self.notices}
        meta.pop("night_warning", None)
        # where the two read the epoch otherwise the fused stage sided with one of them:
        # the epochs to review first, as score --cross-check marks a model run's
        check = cross_check(hyp, peer, name=peer_label(self.peer.name))
        meta["cross_check"] = {**check.to_dict(), "notice": check.sentence(READINGS)}
        if check.n_compared:
            self.notices.append(meta["cross_check"]["notice"])
        warning = "" if not whole_night else implausible_night(stages, hyp.epoch_sec)
        if warning:
            self.notices.append(warning)
            meta["night_warning"] = warning
        return Hypnogram(stages, epoch_sec=hyp.epoch_sec, start_time=hyp.start_time,
                         probabilities=probs, source=hyp.source, scorer=self.name,
                         meta=meta, notes=readings_notes(hyp, peer, stages, check))


def peer_label(name: str) -> str:
    """How sentences name a peer: ``yasa/0.8.1`` -> ``YASA``."""
    return "YASA" if name.lower().startswith("yasa") else name


def readings_notes(model: Hypnogram, peer: Hypnogram, fused: np.ndarray, check) -> list[str]:
    """Each epoch's note (the input check's, kept) and, where the model and the peer
    stage it differently, both readings: "model N2 82 %, YASA W 71 %: fused W"."""
    old = model.notes or [""] * model.n_epochs
    out = []
    for e, note in enumerate(old):
        if check.disagree[e]:
            m, p = int(model.stages[e]), int(peer.stages[e])
            both = (f"model {STAGE_LABELS[m]} {model.probabilities[e, m] * 100:.0f} %, "
                    f"{check.peer} {STAGE_LABELS[p]} {peer.probabilities[e, p] * 100:.0f} %: "
                    f"fused {STAGE_LABELS[int(fused[e])]}")
            note = "; ".join(n for n in (note, both) if n)
        out.append(note)
    return out
