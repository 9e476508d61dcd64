"""The model against YASA on synthetic nights recorded with ONE central EEG lead.

The single-channel excerpts technicians (and our held-back check) bring are C3-A1 or
Cz-A1 alone: no EOG, no chin, five of the picture's six rows dashed. This bench draws
whole varied nights with exactly that montage (``psg-lens synth --montage single-c3`` /
``single-cz``, seeds 910000+, none of them used in training, calibration or smoothing),
scores each with the model as ``psg-lens score`` does (whole-night smoothing) and each
picture alone, with YASA on the same lead in the same run, and with the two fused as
``psg-lens score`` does with one central lead (the weight the card records for one EEG
lead, from bench/fusion.py), against the stages a scorer would give
(``study.scored_stages``).

Synthetic nights: a pipeline check of how well the picture of one lead carries the stage,
never evidence of accuracy on patients.

Run: ``python bench/single_lead.py [--model BUNDLE] [--nights 3] [--update-card]`` (about 4 minutes on
2 cores with 3 nights per montage).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MONTAGES = ("single-c3", "single-cz")
SEED = 910000
LABELS = ("W", "N1", "N2", "N3", "REM")


def _recall(truth: np.ndarray, pred: np.ndarray) -> str:
    out = []
    for s, lab in enumerate(LABELS):
        n = int((truth == s).sum())
        out.append(f"{lab} {((pred == s) & (truth == s)).sum() / n:.2f}" if n else f"{lab} -")
    return " ".join(out)


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.engine import StageEngine
    from app.core.inference.fusion import fuse_hypnograms, weight_for
    from app.core.inference.yasa_engine import YasaEngine
    from app.core.scoring.agreement import agreement
    from app.core.synth import synthesize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--nights", type=int, default=3, help="nights per montage")
    ap.add_argument("--update-card", action="store_true",
                    help="write the comparison into the bundle's card (metrics."
                         "peer_comparisons), which the missing-channel notice quotes")
    args = ap.parse_args()
    if args.nights < 1:
        ap.error("--nights must be at least 1")
    # each picture alone, then the card's smoothing on top: one model pass gives the
    # stages `score` writes, the ones --no-smooth writes and what --engine fused starts from
    engine = StageEngine(args.model, device="cpu", batch_size=16, smooth=False)
    # every night lacks the same five rows: say so once here, not once per night
    logging.getLogger("app.core.inference.engine").setLevel(logging.ERROR)
    yasa = YasaEngine(use_eog=False, use_emg=False)
    weight = weight_for({"central"}, engine.bundle.fusion)  # the card's, for one EEG lead
    print(f"model: {engine.name} ({args.model}); peer: {yasa.name} on the same lead; "
          "the five other rows of the picture are drawn missing (dashed)")
    pooled: dict[str, list[np.ndarray]] = {"truth": [], "model": [], "alone": [], "yasa": [],
                                           "fused": []}
    times = {"model": 0.0, "yasa": 0.0}
    smoothed = False
    for m, montage in enumerate(MONTAGES):
        for i in range(args.nights):
            seed = SEED + 100 * m + i
            study = synthesize(hours=8.0, seed=seed, montage=montage, varied=True)
            rec = study.to_recording(name=f"{montage}-{seed}")
            t0 = time.perf_counter()
            raw = engine.score(rec)
            hyp = engine.smooth(raw) if engine.bundle.smoothing is not None else raw
            times["model"] += time.perf_counter() - t0
            smoothed = smoothed or "smoothing" in hyp.meta
            alone = raw.stages
            t0 = time.perf_counter()
            peer_hyp = yasa.score(rec)
            times["yasa"] += time.perf_counter() - t0
            peer = peer_hyp.stages
            fused, _ = fuse_hypnograms(raw, peer_hyp, weight)
            truth = np.asarray(study.scored_stages)
            for key, val in (("truth", truth), ("model", hyp.stages), ("alone", alone),
                             ("yasa", peer), ("fused", fused)):
                pooled[key].append(np.asarray(val))
            print(f"  {montage} seed {seed} ({rec.ch_names[0]}, {rec.n_epochs} epochs): "
                  f"model {(hyp.stages == truth).mean():.3f}  alone {(alone == truth).mean():.3f}"
                  f"  YASA {(peer == truth).mean():.3f}  fused {(fused == truth).mean():.3f}",
                  flush=True)
    truth = np.concatenate(pooled["truth"])
    acc = {}
    first = "model (whole-night smoothing)" if smoothed else "model (card has no smoothing)"
    for key, name in (("model", first), ("alone", "model, each picture alone"),
                      ("yasa", "YASA, same lead"),
                      ("fused", f"fused, weight {weight:g}")):
        pred = np.concatenate(pooled[key])
        a = agreement(truth, pred)
        acc[key] = a.accuracy
        print(f"{name:<32} accuracy {a.accuracy:.3f}  kappa {a.kappa:.3f}  "
              f"recall {_recall(truth, pred)}")
    print(f"{truth.size} epochs, {2 * args.nights} nights; accuracy model / YASA: "
          f"{acc['model'] / acc['yasa']:.2f}x; fused / YASA: {acc['fused'] / acc['yasa']:.2f}x; "
          f"time model / YASA: "
          f"{times['model'] / times['yasa']:.2f}x")
    if args.update_card:
        _update_card(Path(args.model), {
            "slots": ["central"], "model_accuracy": acc["model"], "peer": yasa.name,
            "peer_accuracy": acc["yasa"], "command": "psg-lens score --engine yasa",
            "data": (f"{2 * args.nights} whole varied synthetic nights recorded with C3-A1 or "
                     f"Cz-A1 alone (bench/single_lead.py, seeds {SEED}+)")})
    return 0


def _update_card(bundle: Path, comparison: dict) -> None:
    from app.core.inference.bundle_writer import editing_card

    with editing_card(bundle) as card:
        metrics = card.setdefault("metrics", {})
        kept = [c for c in metrics.get("peer_comparisons", [])
                if isinstance(c, dict) and c.get("slots") != comparison["slots"]]
        metrics["peer_comparisons"] = kept + [comparison]
    print(f"wrote the comparison into {bundle / 'model_card.json'}")


if __name__ == "__main__":
    raise SystemExit(main())
