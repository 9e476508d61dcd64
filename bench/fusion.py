"""The model and YASA fused (``psg-lens score --engine fused``) against each alone.

Draws whole varied synthetic nights (seeds 960000+, used nowhere in training,
calibration or smoothing) as technicians record them: a full montage kept whole, as EEG
+ EOG without a chin, as the Sleep-EDF cassette's slots and as one central EEG, and
nights recorded with C3-A1 or Cz-A1 alone. Each is staged once by the model (each picture
alone, the probabilities the fusion starts from) and once by YASA on the same leads;
then :func:`app.core.inference.fusion.fuse_hypnograms` combines them at every weight
of a grid. The weight is chosen on the first half of the nights ("fit"), once for a
picture with one EEG lead alone and once for several leads (where accuracies are within
half a point of the best, the smallest weight: the model learnt from synthetic nights
only, YASA from real PSG), and the accuracies are
reported on the other half ("test") at those weights, beside the model as ``psg-lens
score`` stages (whole-night smoothing) and YASA, with the ratio to YASA, per lead set.
The fused probabilities get a temperature fitted on the fit nights (expected calibration
error on the test nights before and after, beside the model's and YASA's).
``--update-card`` writes the weights, the temperature and the per-lead-set figures into the bundle's card
(``metrics.fusion``): ``psg-lens score`` then fuses with those weights and quotes those
figures when it fuses a study.

Synthetic nights: a check of the fusion, never evidence of accuracy on patients.

Run: ``python bench/fusion.py [--model BUNDLE] [--nights 2] [--hours 6] [--update-card]``
(about 15 min on 2 cores).
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
TIE = 0.005  # fit accuracies this close are one result on a few synthetic nights


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.calibration import (
        apply_temperature,
        expected_calibration_error,
        fit_temperature,
    )
    from app.core.inference.engine import StageEngine
    from app.core.inference.fusion import fuse_hypnograms, is_lone_lead
    from app.core.inference.yasa_engine import EEG_SLOTS, YasaEngine
    from app.core.signals.render import resolve_sources
    from app.core.synth import synthesize
    from training.calibrate import SUBSETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--nights", type=int, default=2, help="nights per montage and half")
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--update-card", action="store_true",
                    help="write the fitted weights and test figures into the bundle's card")
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
    cases = []  # (half, label, truth, alone, scored stages, yasa, subset, lone, scored)
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
                present = frozenset(slot for slot, src in zip(slots, sources) if src is not None)
                cases.append((half, label, np.asarray(study.scored_stages), alone,
                              scored.stages, peer, subset, is_lone_lead(present), scored))
                print(f"  {half} {label}: age {study.subject['age']}", flush=True)

    def acc(truth, pred):
        ok = truth >= 0
        return float((np.asarray(pred)[ok] == truth[ok]).mean())

    def weight(case) -> float:
        return chosen["one EEG lead" if case[7] else "several leads"]

    def fused_acc(subset, w=None):
        truth = np.concatenate([c[2] for c in subset])
        pred = np.concatenate([fuse_hypnograms(c[3], c[5], weight(c) if w is None else w)[0]
                               for c in subset])
        return acc(truth, pred)

    fit = [c for c in cases if c[0] == "fit"]
    test = [c for c in cases if c[0] == "test"]
    on_fit = {float(w): fused_acc(fit, w) for w in GRID}
    print("\nfit nights, fused accuracy by the model's weight: "
          + "  ".join(f"{w:g}: {a:.3f}" for w, a in on_fit.items()))
    chosen = {}
    for group, lone in (("one EEG lead", True), ("several leads", False)):
        part = [c for c in fit if c[7] == lone]
        grid = {float(w): fused_acc(part, w) for w in GRID}
        # where the fit is flat (within TIE of the best), the smallest model weight: the
        # model was trained on synthetic nights only, YASA on real PSG
        chosen[group] = min(w for w, a in grid.items() if a >= max(grid.values()) - TIE)
        print(f"  {group + ' alone' if lone else group}: "
              + "  ".join(f"{w:g}: {a:.3f}" for w, a in grid.items())
              + f"  -> weight {chosen[group]:g}")
    # what the fusion starts from: each picture alone (as it does) or the smoothed night
    on_smoothed = {float(w): acc(np.concatenate([c[2] for c in fit]), np.concatenate(
        [fuse_hypnograms(c[8], c[5], w)[0] for c in fit])) for w in GRID}
    print("  fusing the smoothed night instead: "
          + "  ".join(f"{w:g}: {a:.3f}" for w, a in on_smoothed.items()))
    print(f"\ntest nights (weight {chosen['one EEG lead']:g} with one EEG lead, "
          f"{chosen['several leads']:g} with several):")
    for c in test:
        f = acc(c[2], fuse_hypnograms(c[3], c[5], weight(c))[0])
        y = acc(c[2], c[5].stages)
        print(f"  {c[1]:<52} fused {f:.3f}  model {acc(c[2], c[4]):.3f} "
              f"(alone {acc(c[2], c[3].stages):.3f})  YASA {y:.3f}")
    by_subset = [(f"{s.split(' (')[0]}" + (" (kept, or recorded alone)" if s in dict(LONE).values()
                                            else ""), s, [c for c in test if c[6] == s])
                 for s in FULL_SUBSETS]
    groups = [(name, group) for name, _, group in by_subset]
    groups += [("full montage kept whole or in part", [c for c in test if c[1].startswith("full")]),
               ("recorded with one central lead", [c for c in test if c[1].startswith("single")]),
               ("all test nights", test)]
    print("\npooled over the test nights (ratio = fused / YASA):")
    figures = {}
    for name, group in groups:
        truth = np.concatenate([c[2] for c in group])
        f = fused_acc(group)
        y = acc(truth, np.concatenate([c[5].stages for c in group]))
        m = acc(truth, np.concatenate([c[4] for c in group]))
        n = int((truth >= 0).sum())
        figures[name] = {"fused": f, "model": m, "peer": y, "n_epochs": n}
        print(f"  {name:<40} fused {f:.3f}  model {m:.3f}  YASA {y:.3f}  "
              f"{f / y:.2f}x YASA  [{n} epochs]")
    # calibration of what `score` writes when it fuses: a temperature fitted on the fit
    # nights at the chosen weights, its error reported on the test nights
    def rows(group, which):
        truth = np.concatenate([c[2] for c in group])
        probs = np.concatenate([which(c) for c in group])
        ok = (truth >= 0) & (np.concatenate([c[3].stages for c in group]) >= 0)
        return probs[ok], truth[ok]

    def fused_probs(c):
        return fuse_hypnograms(c[3], c[5], weight(c))[1]

    temperature = fit_temperature(*rows(fit, fused_probs))
    p_test, y_test = rows(test, fused_probs)
    ece = {"before": expected_calibration_error(p_test, y_test),
           "after": expected_calibration_error(apply_temperature(p_test, temperature), y_test)}
    model_ece = expected_calibration_error(*rows(test, lambda c: c[8].probabilities))
    yasa_ece = expected_calibration_error(*rows(test, lambda c: c[5].probabilities))
    print(f"calibration on the test nights (expected calibration error, 10 bins): fused "
          f"{ece['before']:.3f} -> {ece['after']:.3f} with temperature {temperature:.3f} "
          f"(fitted on the fit nights); model as scored {model_ece:.3f}; YASA {yasa_ece:.3f}")
    print(f"time: model {t_model:.0f} s, YASA {t_yasa:.0f} s over {len(cases)} stagings "
          f"(the fusion itself adds both: {(t_model + t_yasa) / t_model:.2f}x the model's)")
    if args.update_card:
        def nights(group) -> str:
            return (f"{len({c[1].split(',')[0] for c in group})} whole varied synthetic test "
                    f"nights of bench/fusion.py (seeds {SEED + 500}+)")

        data = nights(test)
        results = [{"name": name, "slots": [s for s in slots if s in keep_of[subset]],
                    **figures[name], "data": nights(group)} for name, subset, group in by_subset]
        _update_card(Path(args.model), {
            "peer": cases[0][5].scorer, "weights": chosen, "results": results,
            "temperature": round(temperature, 4),
            "ece": {k: round(v, 4) for k, v in ece.items()},
            "data": (f"weights fitted on {len({c[1].split(',')[0] for c in fit})} nights "
                     f"(seeds {SEED}+), figures on {data}; synthetic nights only")})
    return 0


def _update_card(bundle: Path, fusion: dict) -> None:
    from app.core.inference.bundle_writer import editing_card

    with editing_card(bundle) as card:
        card.setdefault("metrics", {})["fusion"] = fusion
    print(f"wrote the fusion's weights and figures into {bundle / 'model_card.json'}")


if __name__ == "__main__":
    raise SystemExit(main())
