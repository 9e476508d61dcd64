"""The model and YASA fused (``psg-lens score --engine fused``) against each alone.

Draws whole varied synthetic nights (seeds 960000+, used nowhere in training,
calibration or smoothing) as technicians record them: a full montage kept whole, as EEG
+ EOG without a chin, as the Sleep-EDF cassette's slots and as one central EEG, and
nights recorded with C3-A1 or Cz-A1 alone. Each is staged once by the model (each picture
alone, the probabilities the fusion starts from) and once by YASA on the same leads;
then :func:`app.core.inference.fusion.fuse_hypnograms` combines them at every weight
of a grid. The weight is chosen on the first half of the nights ("fit") and the
accuracies are reported on the other half ("test") at that weight, beside the model as
``psg-lens score`` stages (whole-night smoothing) and YASA, with the ratio to YASA.

Synthetic nights: a check of the fusion, never evidence of accuracy on patients.

Run: ``python bench/fusion.py [--model BUNDLE] [--nights 2] [--hours 6]`` (about 10 min
on 2 cores).
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
SEED = 960000
FULL_SUBSETS = ("every channel", "EEG + EOG, no chin",
                "Sleep-EDF cassette slots (frontal, occipital, one EOG, chin)",
                "one central EEG")
LONE = (("single-c3", "one central EEG"), ("single-cz", "one central EEG"))
GRID = np.round(np.arange(0.0, 1.01, 0.1), 2)


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.engine import StageEngine
    from app.core.inference.fusion import fuse_hypnograms
    from app.core.inference.yasa_engine import EEG_SLOTS, YasaEngine
    from app.core.signals.render import resolve_sources
    from app.core.synth import synthesize
    from training.calibrate import SUBSETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--nights", type=int, default=2, help="nights per montage and half")
    ap.add_argument("--hours", type=float, default=6.0)
    args = ap.parse_args()
    if args.nights < 1 or args.hours <= 0:
        ap.error("--nights must be at least 1 and --hours above 0")
    logging.getLogger("app.core.inference.engine").setLevel(logging.ERROR)  # missing rows
    raw = StageEngine(args.model, device="cpu", batch_size=16, smooth=False)
    smoothed = StageEngine(raw.bundle, device="cpu", batch_size=16)
    keep_of = dict(SUBSETS)
    slots = [r.slot for r in raw.spec.rows]
    print(f"model: {raw.name}; peer: YASA on the same leads; {args.nights} varied synthetic "
          f"nights of {args.hours:g} h per montage and half, seeds {SEED}+")
    cases = []  # (half, label, truth, model alone, model as scored, yasa)
    t_model = t_yasa = 0.0
    for half in ("fit", "test"):
        for i in range(args.nights):
            base = SEED + (0 if half == "fit" else 500) + i
            nights = [("full", base, s) for s in FULL_SUBSETS]
            nights += [(m, base + 100 * (k + 1), s) for k, (m, s) in enumerate(LONE)]
            studies: dict = {}
            for montage, seed, subset in nights:
                if (montage, seed) not in studies:
                    studies[montage, seed] = synthesize(hours=args.hours, seed=seed,
                                                        montage=montage, varied=True)
                study = studies[montage, seed]
                rec = study.to_recording(name=f"fusion-{seed}")
                keep = keep_of[subset]
                sources = [s if slot in keep else None
                           for slot, s in zip(slots, resolve_sources(rec, raw.spec))]
                t0 = time.perf_counter()
                alone = raw.score(rec, sources=sources)
                t1 = time.perf_counter()
                peer = YasaEngine(use_eog="e1" in keep, use_emg="chin" in keep,
                                  eeg_slots=[s for s in EEG_SLOTS if s in keep]).score(rec)
                t2 = time.perf_counter()
                t_model, t_yasa = t_model + t1 - t0, t_yasa + t2 - t1
                scored = smoothed.smooth(alone)
                label = f"{montage} seed {seed}, {subset.split(' (')[0]}"
                cases.append((half, label, np.asarray(study.scored_stages), alone,
                              scored.stages, peer))
                print(f"  {half} {label}: age {study.subject['age']}", flush=True)

    def acc(truth, pred):
        ok = truth >= 0
        return float((np.asarray(pred)[ok] == truth[ok]).mean())

    def fused_acc(subset, w):
        truth = np.concatenate([c[2] for c in subset])
        pred = np.concatenate([fuse_hypnograms(c[3], c[5], w)[0] for c in subset])
        return acc(truth, pred)

    fit = [c for c in cases if c[0] == "fit"]
    test = [c for c in cases if c[0] == "test"]
    on_fit = {float(w): fused_acc(fit, w) for w in GRID}
    best = max(on_fit, key=lambda w: (on_fit[w], -abs(w - 0.5)))
    print("\nfit nights, fused accuracy by the model's weight: "
          + "  ".join(f"{w:g}: {a:.3f}" for w, a in on_fit.items()))
    print(f"chosen weight {best:g} (best on the fit nights)\n\ntest nights at weight {best:g}:")
    for c in test:
        f = acc(c[2], fuse_hypnograms(c[3], c[5], best)[0])
        y = acc(c[2], c[5].stages)
        print(f"  {c[1]:<52} fused {f:.3f}  model {acc(c[2], c[4]):.3f} "
              f"(alone {acc(c[2], c[3].stages):.3f})  YASA {y:.3f}")
    groups = (("full montage kept whole or in part", [c for c in test if c[1].startswith("full")]),
              ("recorded with one central lead", [c for c in test if c[1].startswith("single")]),
              ("all test nights", test))
    print("\npooled over the test nights (ratio = fused / YASA):")
    for name, group in groups:
        truth = np.concatenate([c[2] for c in group])
        f = fused_acc(group, best)
        y = acc(truth, np.concatenate([c[5].stages for c in group]))
        m = acc(truth, np.concatenate([c[4] for c in group]))
        print(f"  {name:<36} fused {f:.3f}  model {m:.3f}  YASA {y:.3f}  "
              f"{f / y:.2f}x YASA  [{int((truth >= 0).sum())} epochs]")
    print(f"time: model {t_model:.0f} s, YASA {t_yasa:.0f} s over {len(cases)} stagings "
          f"(the fusion itself adds both: {(t_model + t_yasa) / t_model:.2f}x the model's)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
