"""``python -m training smoothing CONFIG``: fit a bundle's whole-night smoothing.

Whole held-out synthetic nights of many montages (seeds no training subject used) are
staged by the app's own engine (temperature and input check applied, as the app does).
Half of them fit the three numbers of :class:`app.core.inference.night_smoothing.
NightSmoothing` (prior weight, evidence weight by NLL over a grid, then a temperature);
the other half measure accuracy, NLL and ECE before and after. The card's ``smoothing``
section gets the fit with both sets of figures; a card without it is never smoothed.

The nights are synthetic: the figures are a pipeline check of the smoothing, not
evidence about real recordings (``bench/real_signals.py`` shows those).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_MONTAGES = ("aasm", "full", "sleep-edf", "shhs", "hmc", "mass", "dreams", "cap",
                    "isruc", "referential", "single-c3", "single-cz", "single-fpz",
                    "headband", "headband-bipolar")


@dataclass
class SmoothingArgs:
    bundle: str
    montages: list[str] = field(default_factory=lambda: list(DEFAULT_MONTAGES))
    nights_per_montage: int = 2
    hours: float = 8.0
    seed: int = 930000
    batch_size: int = 32
    update_card: bool = True
    output_json: str | None = None
    # the staged nights are kept here (npz) and reused: refitting needs no model time
    nights_cache: str | None = None
    reliability_png: str | None = None  # the held-out nights' diagram, alone vs smoothed


def score_nights(engine, args: SmoothingArgs) -> list[dict]:
    """Synthesise and stage each held-out night; its probabilities and true stages
    (read from ``args.nights_cache`` when it holds these very nights)."""
    from app.core.synth import synthesize

    cache = Path(args.nights_cache) if args.nights_cache else None
    key = json.dumps([args.montages, args.nights_per_montage, args.hours, args.seed,
                      engine.name, engine.temperature, "scored_stages"])
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                print(f"  the staged nights from {cache}")
                return [{"montage": str(m), "seed": int(sd), "p": p, "y": y} for m, sd, p, y
                        in zip(z["montage"], z["seed"], z["p"], z["y"], strict=True)]
    nights = []
    for i, montage in enumerate(args.montages):
        for k in range(args.nights_per_montage):
            seed = args.seed + 100 * i + k
            study = synthesize(hours=args.hours, seed=seed, montage=montage, varied=True)
            hyp = engine.score(study.to_recording(name=f"{montage}-{seed}"))
            p = hyp.probabilities.astype(np.float32)
            p[hyp.stages < 0] = np.nan  # not staged: no evidence
            nights.append({"montage": montage, "seed": seed, "p": p,
                           "y": study.scored_stages[: p.shape[0]].astype(np.int64)})
            print(f"  {montage:<18} seed {seed}: {p.shape[0]} epochs, raw accuracy "
                  f"{np.mean(np.nanargmax(np.nan_to_num(p, nan=0.2), 1) == nights[-1]['y']):.3f}",
                  flush=True)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=key, montage=[n["montage"] for n in nights],
                 seed=[n["seed"] for n in nights], p=np.stack([n["p"] for n in nights]),
                 y=np.stack([n["y"] for n in nights]))
    return nights


def main(args: SmoothingArgs) -> dict:
    from app.core.inference.bundle import load_bundle
    from app.core.inference.bundle_writer import editing_card
    from app.core.inference.engine import StageEngine
    from app.core.inference.night_smoothing import (
        NightSmoothing,
        fit_night_smoothing,
        measure,
        pooled_posteriors,
    )

    bundle = load_bundle(args.bundle)
    bundle.card.pop("smoothing", None)  # the engine must give the model's own probabilities
    engine = StageEngine(bundle, device="cpu", batch_size=args.batch_size)
    print(f"staging {len(args.montages) * args.nights_per_montage} held-out nights")
    nights = score_nights(engine, args)
    fit = [(n["p"], n["y"]) for n in nights[0::2]]
    held = [(n["p"], n["y"]) for n in nights[1::2]]
    smoothing, on_fit = fit_night_smoothing(fit)
    on_held = measure(smoothing, held)
    what = (f"{{}} whole varied synthetic nights ({args.hours:g} h; montages "
            f"{', '.join(args.montages)}; seeds {args.seed}+)")
    section = smoothing.to_dict() | {
        "method": "forward-backward over the stage-transition prior of real expert "
                  "hypnograms; weights by NLL over a grid, then a temperature",
        "fitted_on": what.format(len(fit)) + ", every other night",
        "measured_on": what.format(len(held)) + ", the other nights",
        "fit": on_fit, "held_out": on_held,
        "note": "synthetic nights: a check of the smoothing, not evidence of accuracy on "
                "real recordings"}
    r, s = on_held["raw"], on_held["smoothed"]
    print(f"fitted {smoothing}")
    print(f"held-out nights: accuracy {r['accuracy']:.3f} -> {s['accuracy']:.3f}, ECE "
          f"{r['ece']:.3f} -> {s['ece']:.3f}, NLL {r['nll']:.3f} -> {s['nll']:.3f}; "
          f"{on_held['nights_better']} nights better, {on_held['nights_worse']} worse")
    if args.reliability_png:
        from app.core.inference.calibration import expected_calibration_error, reliability
        from training.calibrate import plot_reliability

        rel = {}
        for name, fit_ in (("alone", NightSmoothing(prior_weight=0.0)), ("night", smoothing)):
            post, y = pooled_posteriors(fit_, held)
            rel[name] = reliability(post, y) | {"ece": expected_calibration_error(post, y)}
        plot_reliability(rel["alone"], rel["night"], args.reliability_png,
                         f"{engine.name}: reliability on {on_held['n_epochs']} epochs of\n"
                         f"{len(held)} held-out synthetic nights",
                         labels=("each epoch alone", "whole-night smoothing"))
    if args.output_json:
        Path(args.output_json).write_text(json.dumps(section, indent=2))
    if args.update_card:
        with editing_card(args.bundle) as card:
            card["smoothing"] = section
    return section
