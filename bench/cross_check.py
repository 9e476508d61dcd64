"""Does YASA's disagreement say where (and on which nights) the model is wrong?

On held-out synthetic nights (seeds 920000+: neither the card's 900000+ nor the 910000+
nights the cross-check's threshold was chosen on) each night is scored with each of the
card's channel subsets as ``psg-lens score --cross-check`` would: the model (temperature +
whole-night smoothing) and YASA reading the same leads. Per night and subset: the two's
agreement and the model's accuracy. Then, pooled: the model's accuracy on the epochs the
two agree on against its accuracy on all epochs (the ratio), the share of epochs flagged
for review and of the model's errors among them, who was right where they disagree,
the correlation between agreement and accuracy across nights, and whether
``LOW_AGREEMENT`` separates the nights the model got badly wrong. The cost: YASA's time
per night against the model's (same run).

Synthetic nights are a pipeline check, not evidence of accuracy on real recordings;
``bench/real_signals.py`` prints the same comparison on the real ones.

Run: ``python bench/cross_check.py [--nights 6] [--hours 8]`` (about 2.5 min a night).
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


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.engine import StageEngine
    from app.core.scoring.cross_check import LOW_AGREEMENT, cross_check
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.signals.render import resolve_sources
    from app.core.synth import synthesize
    from training.calibrate import SUBSETS, peer_stages

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--nights", type=int, default=6)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=920000)
    args = ap.parse_args()
    logging.getLogger("app.core.inference.engine").setLevel(logging.ERROR)  # missing rows
    engine = StageEngine(args.model, device="cpu", batch_size=16)
    slots = [r.slot for r in engine.spec.rows]
    print(f"model: {engine.name}; peer: YASA; {args.nights} synthetic nights of "
          f"{args.hours:g} h, seeds {args.seed}+, {len(SUBSETS)} channel subsets each")
    pairs, t_model, t_yasa = [], 0.0, 0.0
    pooled = {k: 0 for k in ("n", "agree", "agree_right", "right", "flagged_errors",
                             "dis_model", "dis_yasa")}
    for i in range(args.nights):
        study = synthesize(hours=args.hours, seed=args.seed + i, montage="full", varied=True)
        rec = study.to_recording(name=f"cross-check-{i}")
        truth = study.scored_stages
        full = resolve_sources(rec, engine.spec)
        print(f"night {i + 1}: age {study.subject['age']}")
        for name, keep in SUBSETS:
            sources = [s if slot in keep else None for slot, s in zip(slots, full)]
            t0 = time.perf_counter()
            hyp = engine.score(rec, sources=sources)
            t1 = time.perf_counter()
            peer = peer_stages(rec, keep)  # YASA from the same leads, as calibrate does
            t_model += t1 - t0
            t_yasa += time.perf_counter() - t1
            check = cross_check(hyp, Hypnogram(peer, epoch_sec=hyp.epoch_sec), name="YASA")
            ok = check.compared & (truth >= 0)
            right = ok & (hyp.stages == truth)
            agree, dis = ok & ~check.disagree, ok & check.disagree
            pooled["n"] += int(ok.sum())
            pooled["agree"] += int(agree.sum())
            pooled["agree_right"] += int((agree & right).sum())
            pooled["right"] += int(right.sum())
            pooled["flagged_errors"] += int((dis & ~right).sum())
            pooled["dis_model"] += int((dis & right).sum())
            pooled["dis_yasa"] += int((dis & (peer == truth)).sum())
            acc = right.sum() / max(ok.sum(), 1)
            pairs.append((check.agreement, float(acc)))
            print(f"  {name:<62} agreement {check.agreement:.2f}  model accuracy {acc:.2f}  "
                  f"YASA {(ok & (peer == truth)).sum() / max(ok.sum(), 1):.2f}")
    p = pooled
    n_dis, errors = p["n"] - p["agree"], p["n"] - p["right"]
    agree = np.array([a for a, _ in pairs])
    acc = np.array([b for _, b in pairs])
    print(f"\npooled over {p['n']} epochs ({len(pairs)} night-and-subset pairs):")
    print(f"  model accuracy on all epochs      {p['right'] / p['n']:.3f}")
    print(f"  model accuracy where YASA agrees  {p['agree_right'] / max(p['agree'], 1):.3f}  "
          f"ratio {p['agree_right'] / max(p['agree'], 1) / (p['right'] / p['n']):.2f}x")
    print(f"  flagged for review: {n_dis} epochs ({n_dis / p['n']:.0%}), holding "
          f"{p['flagged_errors']} of the model's {errors} errors "
          f"({p['flagged_errors'] / max(errors, 1):.0%})")
    print(f"  where they disagree: model right {p['dis_model'] / max(n_dis, 1):.2f}, "
          f"YASA right {p['dis_yasa'] / max(n_dis, 1):.2f}")
    print(f"  agreement vs model accuracy across pairs: Pearson r "
          f"{np.corrcoef(agree, acc)[0, 1]:.2f}")
    low = agree < LOW_AGREEMENT
    if low.any():
        print(f"  agreement under {LOW_AGREEMENT:.2f}: {int(low.sum())} pairs, model accuracy "
              f"at most {acc[low].max():.2f} (median {np.median(acc[low]):.2f})")
    if (~low).any():
        print(f"  agreement {LOW_AGREEMENT:.2f} or more: {int((~low).sum())} pairs, model "
              f"accuracy at least {acc[~low].min():.2f} (median {np.median(acc[~low]):.2f})")
    print(f"  time per night-and-subset: model {t_model / len(pairs):.1f} s, YASA "
          f"{t_yasa / len(pairs):.1f} s (the cross-check adds {t_yasa / t_model:.2f}x the "
          "model's time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
