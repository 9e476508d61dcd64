"""Choose, per study, between the model alone and the model fused with YASA.

``psg-lens score`` stages with the model's picture; where the study's leads are ones the
model's card measured YASA reading better (one EEG lead, EEG without EOG or chin, the
Sleep-EDF cassette's slots on this card), or ones where the card measured the two
together ahead of the model alone (bench/fusion.py's figures: on this card every lead
set it measured), the default run stages each epoch from both scorers together
(:mod:`.fusion`), and says why. The rule reads the card, not the model's name: a bundle
whose card records no peer or fusion figures (a SleepVLM import, a model a lab trained)
is always run alone. ``--engine vlm`` keeps the model alone whatever the leads.

Examples
--------
>>> engine = AutoEngine(StageEngine(bundle))            # doctest: +SKIP
>>> hyp = engine.score(recording)                       # doctest: +SKIP
>>> hyp.meta["engine"]                                  # doctest: +SKIP
'fused'
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from app.core.inference.engine import drain
from app.core.scoring.hypnogram import Hypnogram
from app.errors import PSGLensError

log = logging.getLogger(__name__)

UNFUSED = ("YASA could not read this study, so it was staged by the model alone, whose "
           "card measured it weak with these channels; review every epoch.")
UNFUSED_AHEAD = ("YASA could not read this study, so it was staged by the model alone "
                 "(its card measured the model and YASA together ahead with these "
                 "channels); review every epoch.")


def unfused(reason: dict | None) -> str:
    """What a run the card wanted fused says when YASA could not read the study."""
    return UNFUSED_AHEAD if (reason or {}).get("kind") == FUSED_AHEAD else UNFUSED


class AutoEngine:
    """The model alone, or the model and YASA fused where its card says YASA reads the
    study's leads better or the two together do.

    Parameters
    ----------
    model : StageEngine
        Runs alone with its own settings (whole-night smoothing included); a fused run
        starts from each picture's own probabilities.
    weight : float, optional
        The model's weight when fused (default: the card's for the study's leads,
        :func:`.fusion.weight_for`).
    peer_factory : callable, optional
        ``() -> YasaEngine``-like peer (for tests); default YASA with every lead it reads.
    """

    def __init__(self, model, *, weight: float | None = None, peer_factory=None) -> None:
        from app.core.inference.fusion import check_weight

        self.model = model
        self.weight = None if weight is None else check_weight(weight)  # before any run
        self._peer_factory = peer_factory
        self.name, self.spec, self.bundle = model.name, model.spec, model.bundle
        self.notices: list[str] = []

    def choice(self, recording, sources: Sequence | Mapping | None = None
               ) -> tuple[str, dict | None]:
        """``("fused", comparison)`` when the card measured YASA, or the model and YASA
        together, ahead of the model with the leads this study fills (:func:`fusion_reason`),
        else ``("vlm", None)``.

        The card's comparison with exactly these leads decides; with none, the one with
        the fewest leads that include them all does (a model behind YASA with more leads
        is behind it with fewer, while YASA reads one EEG either way; of two as near,
        the one the model did better on)."""
        c = fusion_reason(self.bundle, self._present(recording, sources))
        return ("vlm", None) if c is None else ("fused", c)

    def score(self, recording, **kw) -> Hypnogram:
        return drain(self.predict(recording, **kw))

    def predict(self, recording, *, epochs: Sequence[int] | None = None,
                progress=None, should_stop=None,
                sources: Mapping[str, str] | None = None, check: Any = True
                ) -> Generator[Any, None, Hypnogram]:
        """Yield the model's batches; return the model's Hypnogram, or the fused one."""
        from app.core.inference.fusion import FusedEngine

        kw = {"epochs": epochs, "progress": progress, "should_stop": should_stop,
              "sources": sources, "check": check}
        kind, comparison = self.choice(recording, sources)
        peer = self.peer_for(recording, sources) if kind == "fused" else None
        if peer is None:  # (no advice to use YASA when it cannot be used)
            hyp = yield from self.model.predict(recording, peer_advice=kind == "vlm", **kw)
            self.notices = list(self.model.notices)
            if kind == "fused":  # YASA could not read it: say what the run is instead
                self.notices.append(unfused(comparison))
                hyp.meta["notices"] = list(self.notices)
            return hyp
        hyp = yield from FusedEngine(self.model, peer, weight=self.weight).predict(
            recording, **kw)
        if "fusion" not in hyp.meta:  # stopped: what the model scored, as its own
            self.notices = list(hyp.meta.get("notices", []))
            return hyp
        why = self.why(recording, sources, comparison)
        self.notices = [*hyp.meta["notices"], why]
        hyp.meta["notices"] = list(self.notices)
        hyp.meta["fusion"]["why"] = why
        return hyp

    def _present(self, recording, sources) -> set[str]:
        from app.core.inference.fusion import present_slots

        return present_slots(recording, self.spec, sources)

    def why(self, recording, sources: Mapping[str, str] | None = None,
            comparison: dict | None = None, *,
            alone: str = "psg-lens score --engine vlm stages with the model alone") -> str:
        """The sentence a fused run carries: what the card measured with these leads, the
        weight, and (``alone``, "" to leave out) how to stage with the model alone."""
        from app.core.inference.fusion import fused_result, fusion_settings

        if comparison is None:
            comparison = self.choice(recording, sources)[1]
        if comparison is None:
            return ""
        present = self._present(recording, sources)
        weight = fusion_settings(self.weight, present, self.bundle.fusion)[0]
        labels = {r.slot: r.label for r in self.spec.rows}
        return _why_fused(comparison, weight, fused_result(present, self.bundle.fusion), alone,
                          present, labels)

    def peer_for(self, recording, sources: Mapping[str, str] | None = None):
        """YASA ready to read this study, or None (not installed, or no EEG it reads)."""
        try:
            if self._peer_factory is not None:
                peer = self._peer_factory()
            else:
                from app.core.inference.yasa_engine import YasaEngine

                peer = YasaEngine()
            peer.channels(recording, sources)
        except PSGLensError as err:
            log.info("no fusion for %s: %s", recording.path.name, err)
            return None
        return peer


FUSED_AHEAD = "fused ahead"  # a reason's kind: the card measured both together ahead


def fusion_reason(bundle, present: set[str]) -> dict | None:
    """The card's comparison that makes a study filling ``present`` fused, or None: the
    model alone (see :meth:`AutoEngine.choice`).

    First the peer comparisons: YASA measured ahead of the model with these leads. Else
    the fusion's own figures (``metrics.fusion.results``, from bench/fusion.py): the
    model and YASA together measured ahead of the model as scored with these leads (the
    model learnt from synthetic nights only, YASA from real PSG: where combining them
    was measured no worse, the default hedges). The returned dict then has ``kind``
    :data:`FUSED_AHEAD` and the fused accuracy as ``fused``."""
    c = best_comparison(present, bundle.peer_comparisons)
    if c is not None and c["peer"].startswith("yasa/") \
            and c["peer_accuracy"] > c["model_accuracy"]:
        return c
    return fused_ahead(bundle.fusion, present)


def fused_ahead(figures: dict | None, present: set[str]) -> dict | None:
    """The card's fusion result for ``present`` (exactly these leads, else the nearest
    wider set, as :func:`best_comparison`) where the fused stages beat the model's, as a
    comparison; None where none was measured or the model alone did as well."""
    if figures is None or not figures["peer"].startswith("yasa/"):
        return None
    results = [{**r, "model_accuracy": r["model"], "peer_accuracy": r["peer"]}
               for r in figures.get("results", [])]
    r = best_comparison(present, results)
    if r is None or r["fused"] <= r["model"]:
        return None
    return {"kind": FUSED_AHEAD, "slots": list(r["slots"]), "peer": figures["peer"],
            "model_accuracy": r["model"], "peer_accuracy": r["peer"], "fused": r["fused"],
            "data": r.get("data") or figures.get("data", "synthetic test nights")}


def best_comparison(present: set[str], comparisons: Sequence[dict]) -> dict | None:
    """The first comparison made with exactly ``present``, else, of those with the fewest
    slots that include every one of ``present``, the one the model did best on (None:
    the card measured neither)."""
    exact = [c for c in comparisons if set(c["slots"]) == set(present)]
    if exact:
        return exact[0]
    wider = [c for c in comparisons if set(c["slots"]) > set(present)]
    if not wider:
        return None
    fewest = min(len(c["slots"]) for c in wider)
    # two sets as near: the one the model did best on, so that conflicting evidence
    # keeps the model alone
    return max((c for c in wider if len(c["slots"]) == fewest),
               key=lambda c: c["model_accuracy"] - c["peer_accuracy"])


def _measured_where(c: dict, present: set[str], labels: Mapping[str, str], exact: str,
                    what: str) -> str:
    """How the sentence opens: with exactly these leads, or naming the leads the card's
    measurement had beyond the study's."""
    if set(c["slots"]) == set(present):
        return exact
    more = ", ".join(labels.get(s, s) for s in c["slots"] if s not in present)
    return (f"The model card has no {what} with exactly these channels; with these and "
            f"{more} it measured")


def _why_fused(c: dict, weight: float, measured: dict | None, alone: str,
               present: set[str], labels: Mapping[str, str]) -> str:
    """The sentence saying why this study was fused and what the card measured."""
    end = (f"; {alone}." if alone else ".") + " Review every epoch."
    if c.get("kind") == FUSED_AHEAD:
        where = _measured_where(c, present, labels, "With these channels the model card "
                                "measured", "fusion measurement")
        return (f"{where} the model and {c['peer']} together ahead of the model alone on "
                f"{c['data']}: right on {c['fused']:.3f} of epochs ({c['peer']} "
                f"{c['peer_accuracy']:.3f}, the model as scored {c['model_accuracy']:.3f}). "
                "The model learnt from synthetic nights only, so each epoch was staged from "
                f"both together (the model's weight {weight:g}){end}")
    where = _measured_where(c, present, labels, "With only these channels the model card "
                            "measured", "measurement")
    why = (f"{where} {c['peer']} ahead of this "
           f"model on {c['data']}: {c['peer']} was right on {c['peer_accuracy']:.2f} of "
           f"epochs, this model on {c['model_accuracy']:.2f}. Each epoch was therefore "
           f"staged from both together (the model's weight {weight:g})")
    if measured is not None:
        why += (f", which on {measured.get('data') or 'synthetic test nights'} was right on "
                f"{measured['fused']:.2f} ({c['peer']} {measured['peer']:.2f}, the model as "
                f"scored {measured['model']:.2f})")
    return why + end
