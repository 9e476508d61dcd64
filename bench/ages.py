"""The model on young and on old sleepers' synthetic nights, beside YASA in the same run.

Slow waves and spindles shrink with age, and the default model 0.5.0 read an old
sleeper's N2 as N1 and N3 as N2. This bench draws whole varied nights of subjects aged
25-45 and 70-85 (``synthesize(ages=...)``, seeds 950000+, used nowhere in training,
calibration or smoothing), stages each with three channel subsets a technician may have
(every channel, EEG + EOG, one central EEG) as ``psg-lens score`` does (whole-night
smoothing) and each picture alone, and with YASA reading the same leads, against the
stages a scorer would give (``study.scored_stages``). Give ``--model`` twice to compare
two bundles on the same nights (for example the shipped one and the one it replaces).

Synthetic nights: a pipeline check of how the pictures carry an old sleeper's stage,
never evidence of accuracy on patients.

Run: ``python bench/ages.py [--model BUNDLE ...] [--nights 3] [--hours 6]`` (about 1.5 min
a night and subset per bundle on 2 cores).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GROUPS = (("aged 25-45", (25, 45)), ("aged 70-85", (70, 85)))
SUBSET_NAMES = ("every channel", "EEG + EOG, no chin", "one central EEG")
SEED = 950000


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.engine import StageEngine, stages_before_smoothing
    from app.core.signals.render import resolve_sources
    from app.core.synth import synthesize
    from training.calibrate import SUBSETS, peer_stages

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help="a bundle folder (repeat to compare); "
                    "default: the embedded model")
    ap.add_argument("--nights", type=int, default=3, help="nights per age group")
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    if args.nights < 1 or args.hours <= 0:
        ap.error("--nights must be at least 1 and --hours above 0")
    logging.getLogger("app.core.inference.engine").setLevel(logging.ERROR)  # missing rows
    engines = [StageEngine(m, device="cpu", batch_size=16)
               for m in (args.model or [str(default_model_path())])]
    names = [e.name for e in engines]  # name/version, as the card gives it
    subsets = [(n, keep) for n, keep in SUBSETS if n in SUBSET_NAMES]
    print(f"models: {', '.join(names)}; peer: YASA on the same leads; {args.nights} varied "
          f"synthetic nights of {args.hours:g} h per age group, seeds {args.seed}+")
    # pooled[group][subset]: lists of (truth, [score per engine], [alone per engine], yasa)
    pooled: dict = {g: {n: [] for n, _ in subsets} for g, _ in GROUPS}
    for g, (group, ages) in enumerate(GROUPS):
        for i in range(args.nights):
            seed = args.seed + 100 * g + i
            study = synthesize(hours=args.hours, seed=seed, montage="full", varied=True,
                               ages=ages)
            rec = study.to_recording(name=f"ages-{seed}")
            truth = np.asarray(study.scored_stages)
            print(f"{group}: seed {seed}, age {study.subject['age']}", flush=True)
            for name, keep in subsets:
                scored, alone = [], []
                for engine in engines:
                    slots = [r.slot for r in engine.spec.rows]
                    sources = [s if slot in keep else None
                               for slot, s in zip(slots, resolve_sources(rec, engine.spec))]
                    hyp = engine.score(rec, sources=sources)
                    scored.append(np.asarray(hyp.stages))
                    alone.append(stages_before_smoothing(hyp))
                peer = np.asarray(peer_stages(rec, keep))
                pooled[group][name].append((truth, scored, alone, peer))
                models = "  ".join(f"{_acc(truth, s):.3f} (alone {_acc(truth, a):.3f})"
                                   for s, a in zip(scored, alone))
                print(f"  {name:<20} model {models}  YASA {_acc(truth, peer):.3f}", flush=True)
    print("\npooled (accuracy on every scored epoch; ratio = model as scored / YASA):")
    for group, _ in GROUPS:
        for name, _ in subsets:
            nights = pooled[group][name]
            truth = np.concatenate([n[0] for n in nights])
            yasa = _acc(truth, np.concatenate([n[3] for n in nights]))
            parts = []
            for k, label in enumerate(names):
                s = _acc(truth, np.concatenate([n[1][k] for n in nights]))
                a = _acc(truth, np.concatenate([n[2][k] for n in nights]))
                parts.append(f"{label} {s:.3f} (alone {a:.3f}, {s / yasa:.2f}x YASA)")
            print(f"  {group}, {name:<20} {'; '.join(parts)}; YASA {yasa:.3f}  "
                  f"[{int((truth >= 0).sum())} epochs]")
    return 0


def _acc(truth: np.ndarray, pred: np.ndarray) -> float:
    keep = truth >= 0
    return float((pred[keep] == truth[keep]).mean())


if __name__ == "__main__":
    raise SystemExit(main())
