"""Are the heatmaps faithful, and what do they cost? Every method against a random order.

Run: ``python bench/explain.py [--model BUNDLE] [--per-stage 3] [--device cpu]`` from the
project root. Prints, does not assert.

Held-out synthetic epochs (``app.core.synth``, a seed no training config uses, AASM
montage, 256 Hz): ``--per-stage`` epochs of each stage, each the middle of a block of
three epochs of that stage (pure, no cross-fade). Each epoch is explained for its true
stage with every method, then measured:

- deletion / insertion AUC: the stage's probability as the map's patches are painted
  with the background (deletion, lower is better) or revealed on a blank picture
  (insertion, higher is better), most important first, 17 points from 0 to all
  patches. ``random`` is the same with a random patch order.
- pointing game: the map's top patch touches a planted event that defines the stage
  (W alpha; N1 vertex waves/slow eye movements; N2 spindles/K-complexes; N3 delta
  trains; REM rapid eye movements/sawtooth waves). Chance = share of patches touching
  those events (what a random patch scores); ``area`` = share of pixels they cover.
- seconds per epoch (measured here), and the estimate ``estimate_cost`` gave.
- model randomisation: Spearman correlation between patch maps of the trained model
  and of the same architecture with re-initialised weights (near 0 = the map depends
  on what the model learned; near 1 = it would look the same for any model).

The model is ``resources/models/default`` when present, else the tiny random test model
(64 px), and the output says which.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.explain import METHODS, ExplainCostWarning, estimate_cost, explain_image  # noqa: E402
from app.core.explain import faithfulness as fa  # noqa: E402
from app.core.explain.mapping import patch_ids, patch_scores  # noqa: E402
from app.core.explain.methods import patch_size  # noqa: E402
from app.core.inference.engine import StageEngine  # noqa: E402
from app.core.scoring.stages import STAGE_LABELS  # noqa: E402
from app.core.signals.render import render_many, resolve_sources  # noqa: E402
from app.core.synth import synthesize  # noqa: E402

HELD_OUT_SEED = 424242


def pick_model(arg: str | None, tmp: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), f"bundle {arg}"
    default = ROOT / "resources" / "models" / "default"
    if (default / "model_card.json").is_file():
        return default, f"embedded default bundle ({default.relative_to(ROOT)})"
    sys.path.insert(0, str(ROOT / "tests"))
    from models import full_bundle

    return full_bundle(tmp), ("NO default model at resources/models/default: the tiny "
                              "RANDOM test model (64 px); these figures say nothing about "
                              "a trained model")


def held_out(per_stage: int, seed: int):
    stages = np.repeat(np.tile(np.arange(5), per_stage), 3)
    study = synthesize(stages, seed=seed, sfreq=256.0)
    rec = study.to_recording()
    return study, rec, np.arange(1, stages.size, 3)  # middle of each block


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--per-stage", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    ap.add_argument("--randomisation-epochs", type=int, default=5)
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # lines appear as they are measured
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    warnings.simplefilter("ignore", ExplainCostWarning)
    tmp = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    path, what = pick_model(args.model, tmp)
    engine = StageEngine(path, device=args.device, batch_size=args.batch_size)
    spec = engine.spec
    study, rec, epochs = held_out(args.per_stage, args.seed)
    sources = resolve_sources(rec, spec)
    channels = [None if s is None else s.plus for s in sources]
    images = np.concatenate(list(render_many(rec, spec, epochs, sources=sources)))
    truth = study.stages[epochs]
    pred = engine.probabilities(images).argmax(axis=1)
    rng = np.random.default_rng(args.seed)
    card = engine.bundle.card
    print(f"model: {what}: {card.get('name')} {card.get('version')}, "
          f"{sum(p.numel() for p in engine.model.parameters()) / 1e6:.1f}M params, "
          f"{spec.width}x{spec.height} {spec.name}, patch {patch_size(engine.model)} px, "
          f"{engine.device}")
    print(f"held-out synthetic epochs: {len(epochs)} ({args.per_stage} per stage, seed "
          f"{args.seed}); model accuracy on them {np.mean(pred == truth):.2f}; each "
          "explained for its TRUE stage")
    est = {m: estimate_cost(engine, m).seconds for m in methods}
    rows = {}  # (method, stage) -> lists
    patch = patch_size(engine.model)
    n_patch = patch_ids(images.shape[1:3], patch).max() + 1
    kw = dict(patch=patch, background=spec.background, steps=16)
    for i, (e, img) in enumerate(zip(epochs, images)):
        st = int(truth[i])
        mask = fa.event_mask(study.events, int(e), spec, channels, fa.DEFINING_EVENTS[st])
        for m in [*methods, "random"]:
            if m == "random":
                order, sec, pscore = rng.permutation(n_patch), 0.0, None
            else:
                ex = explain_image(engine, img, method=m, stage=st, sources=sources,
                                   cache=False)
                pscore = ex.patch_scores
                order, sec = fa.order_from_scores(pscore, rng), ex.seconds
            curves = fa.deletion_insertion(engine, img, order, stage=st, **kw)
            r = rows.setdefault((m, st), {"del": [], "ins": [], "hit": [], "chance": [],
                                          "area": [], "sec": []})
            r["del"].append(curves.deletion_auc)
            r["ins"].append(curves.insertion_auc)
            r["sec"].append(sec)
            pg = fa.pointing_game(pscore, mask, patch) if pscore is not None else None
            if pg is not None:
                r["hit"].append(pg.hit)
                r["chance"].append(pg.chance)
                r["area"].append(pg.area)
        print(f"  epoch {e} ({STAGE_LABELS[st]}) done", file=sys.stderr)
    print_table(rows, methods, est)
    randomisation(engine, path, images, truth, methods, args)
    return 0


def print_table(rows: dict, methods: list[str], est: dict) -> None:
    print()
    print("method     stage  n  deletion AUC  insertion AUC  pointing (chance, area)   "
          "s/epoch (estimate)")
    for m in [*methods, "random"]:
        for st in [*range(5), None]:
            keys = [(m, s) for s in range(5)] if st is None else [(m, st)]
            got = [rows[k] for k in keys if k in rows]
            if not got:
                continue
            hits = _cat(got, "hit")
            point = (f"{np.mean(hits):.2f} of {len(hits):<2d} "
                     f"({np.mean(_cat(got, 'chance')):.2f}, {np.mean(_cat(got, 'area')):.2f})"
                     ) if hits else "-"
            sec = "" if m == "random" else (f"{np.mean(_cat(got, 'sec')):7.2f} "
                                            f"({est.get(m, float('nan')):.2f})")
            label = "all" if st is None else STAGE_LABELS[st]
            dels = _cat(got, "del")
            print(f"{m:<10} {label:<5} {len(dels):2d}  {np.mean(dels):12.3f}  "
                  f"{np.mean(_cat(got, 'ins')):13.3f}  {point:<24}  {sec}")
        print()


def _cat(got: list[dict], field: str) -> list:
    return [v for g in got for v in g[field]]


def randomisation(engine, path, images, truth, methods, args) -> None:
    n = min(args.randomisation_epochs, len(images))
    pick = np.unique(np.concatenate([np.nonzero(truth == s)[0][:1] for s in range(5)]))[:n]
    rnd = StageEngine(path, device=args.device, batch_size=args.batch_size)
    fa.reinitialise(rnd.model, seed=args.seed)
    print(f"model randomisation ({len(pick)} epochs, one per stage): Spearman rho of "
          "patch maps, trained vs re-initialised weights (mean [min, max])")
    for m in methods:
        rhos = []
        for i in pick:
            maps = []
            for eng in (engine, rnd):
                ex = explain_image(eng, images[i], method=m, stage=int(truth[i]),
                                   cache=False)
                maps.append(patch_scores(ex.raw, ex.patch_size, "sum"))
            rhos.append(fa.rank_correlation(*maps))
        r = np.array(rhos, float)
        print(f"  {m:<10} {np.nanmean(r):+.2f} [{np.nanmin(r):+.2f}, {np.nanmax(r):+.2f}]")


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    print(f"(bench took {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    sys.exit(rc)
