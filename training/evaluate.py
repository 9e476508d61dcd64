"""``python -m training evaluate CONFIG``: score held-out subjects exactly as the app does.

Each test subject's recording is scored by the app's own :class:`StageEngine` (same
renderer, same readout), each epoch alone and with the card's whole-night smoothing (plain
HMM/Viterbi smoothing for a card without one), and by YASA's pretrained
classifier on the same recordings where they have its channels, in the same run; and as
``psg-lens score`` writes it (``psg-lens score``: the smoothed model, or for a study whose
leads the card found the model weak with, the model fused with YASA, from the same two
runs).
Prints accuracy, macro-F1, Cohen's kappa, per-stage F1 and the confusion matrix,
overall and per subject; optionally writes the metrics into the bundle's card.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.scoring.agreement import agreement
from app.core.scoring.stages import STAGE_LABELS


@dataclass
class EvaluateArgs:
    bundle: str
    cache_dir: str                  # its manifest names the test subjects and sources
    split: str = "test"
    max_subjects: int | None = None
    device: str = "auto"
    batch_size: int = 32
    yasa: bool = True
    update_card: bool = True
    output_json: str | None = None
    # more held-out sets scored the same way, e.g. {"clean-aasm": {"type": "synthetic", ...}}
    extra_sets: dict = field(default_factory=dict)


def _test_refs(cache_dir: str, split: str, card: dict | None = None):
    """The split's studies: from the cache's manifest, or, when the cache is gone (a
    fresh clone), from the card, which records the same sources and subjects."""
    from training.datasets import DatasetError, find_studies

    manifest_file = Path(cache_dir) / "manifest.json"
    if manifest_file.is_file():
        manifest = json.loads(manifest_file.read_text())
        wanted, sources = set(manifest["subjects"][split]), manifest["args"]["sources"]
    else:
        data = (card or {}).get("training_data", {})
        wanted, sources = set(data.get(f"{split}_subjects", [])), data.get("sources", [])
        if not wanted or not sources:
            raise DatasetError(f"No {manifest_file} and the bundle's card names no "
                               f"{split} subjects: build the cache first "
                               "(python -m training cache CONFIG).")
        print(f"{manifest_file} not found: the {split} subjects and their sources are "
              "read from the bundle's card")
    refs = [r for src in sources for r in find_studies(src)]
    return [r for r in refs if r.subject_id in wanted]


def _table(name: str, a: dict) -> str:
    f1 = "  ".join(f"{lab} {a['f1'][lab]:.3f}" if a["f1"][lab] == a["f1"][lab] else f"{lab} -"
                   for lab in STAGE_LABELS)
    lines = [f"{name:<18} acc {a['accuracy']:.3f}  macro-F1 {a['macro_f1']:.3f}  "
             f"kappa {a['kappa']:.3f}  n={a['n_epochs']}", f"{'':<18} F1: {f1}",
             f"{'':<18} confusion (rows truth W,N1,N2,N3,REM; cols predicted):"]
    lines += [f"{'':<20}{lab:<4}" + " ".join(f"{v:6d}" for v in row)
              for lab, row in zip(STAGE_LABELS, a["confusion"])]
    return "\n".join(lines)


def _score_refs(refs, engine, yasa_engine) -> tuple[dict, dict, dict, int]:
    """Score studies with the model (+ smoothing), YASA and as ``psg-lens score`` does;
    pooled metrics per scorer."""
    from app.core.inference.auto import AutoEngine
    from app.core.inference.fusion import FusedEngine
    from app.core.inference.smoothing import smooth_hypnogram

    truth_all, pred_all = [], {"model": [], "model+smoothing": [], "yasa": []}
    yasa_truth, scored, scored_truth = [], [], []
    bundle = getattr(engine, "bundle", None)
    auto = AutoEngine(engine) if bundle is not None and yasa_engine is not None else None
    per_subject = {}
    timing = {"model": 0.0, "yasa": 0.0}
    for ref in refs:
        rec, hyp, _ = ref.load()
        truth = hyp.stages[: rec.n_epochs]
        t = time.perf_counter()
        pred = engine.score(rec)
        timing["model"] += time.perf_counter() - t
        # the card's fitted whole-night smoothing (what the app shows), else plain Viterbi
        smoothed = (engine.smooth(pred) if getattr(engine, "bundle", None) is not None
                    and engine.bundle.smoothing is not None else smooth_hypnogram(pred))
        row = {"model": agreement(truth, pred.stages).to_dict(),
               "model+smoothing": agreement(truth, smoothed.stages).to_dict()}
        truth_all.append(truth)
        pred_all["model"].append(pred.stages)
        pred_all["model+smoothing"].append(smoothed.stages)
        if yasa_engine is not None:
            try:
                t = time.perf_counter()
                y = yasa_engine.score(rec)
                timing["yasa"] += time.perf_counter() - t
                row["yasa"] = agreement(truth, y.stages).to_dict()
                pred_all["yasa"].append(y.stages)
                yasa_truth.append(truth)
            except Exception as err:  # a montage YASA cannot read: say so, keep going
                row["yasa"], y = {"error": str(err)}, None
        if auto is not None:  # what `psg-lens score` writes (the model alone without YASA)
            fuse = y is not None and auto.choice(rec)[0] == "fused"
            st = (FusedEngine(engine, yasa_engine).combine(rec, pred, y).stages if fuse
                  else smoothed.stages)
            row["psg-lens score"] = {**agreement(truth, st).to_dict(),
                                     "engine": "fused" if fuse else "model"}
            scored.append(st)
            scored_truth.append(truth)
        row["montage"] = ref.params.get("montage", "")
        per_subject[ref.subject_id] = row
        print(f"{ref.subject_id} ({row['montage']}): " + "  ".join(
            f"{k} kappa {v['kappa']:.3f}" for k, v in row.items()
            if isinstance(v, dict) and "kappa" in v))
    truth = np.concatenate(truth_all)
    overall = {k: agreement(truth, np.concatenate(v)).to_dict()
               for k, v in pred_all.items() if v and k != "yasa"}
    if pred_all["yasa"]:
        overall["yasa"] = agreement(np.concatenate(yasa_truth),
                                    np.concatenate(pred_all["yasa"])).to_dict()
    if scored:
        overall["psg-lens score"] = agreement(np.concatenate(scored_truth),
                                              np.concatenate(scored)).to_dict()
        overall["psg-lens score"]["fused_subjects"] = sum(
            r.get("psg-lens score", {}).get("engine") == "fused" for r in per_subject.values())
    return overall, per_subject, timing, int(truth.size)


def _card_entry(data: str, n_subjects: int, n_epochs: int, overall: dict) -> dict:
    return {"data": data, "n_subjects": n_subjects, "n_epochs": n_epochs,
            **{k: {m: v[m] for m in ("accuracy", "macro_f1", "kappa", "f1", "confusion",
                                     "fused_subjects") if m in v}
               for k, v in overall.items()}}


def main(args: EvaluateArgs) -> dict:
    from app.core.inference.bundle import load_bundle
    from app.core.inference.bundle_writer import editing_card
    from app.core.inference.engine import StageEngine
    from training.datasets import find_studies

    bundle = load_bundle(args.bundle)
    # each epoch alone; the smoothing is applied beside it (model+smoothing)
    engine = StageEngine(bundle, device=args.device, batch_size=args.batch_size, smooth=False)
    yasa_engine = None
    if args.yasa:
        from app.core.inference.yasa_engine import YasaEngine

        yasa_engine = YasaEngine()
    refs = _test_refs(args.cache_dir, args.split, bundle.card)[: args.max_subjects]
    overall, per_subject, timing, n = _score_refs(refs, engine, yasa_engine)
    print(f"\n{len(refs)} held-out subjects ({args.split}), {n} epochs")
    for k, v in overall.items():
        print(_table(k, v))
    print(f"time: model {timing['model']:.1f} s, yasa {timing['yasa']:.1f} s")
    result = {"data": f"{len(refs)} held-out {args.split} subjects of {args.cache_dir}",
              "subjects": [r.subject_id for r in refs], "overall": overall,
              "per_subject": per_subject, "seconds": timing, "extra_sets": {}}
    for name, source in args.extra_sets.items():
        extra = find_studies(source)
        o, per, tm, m = _score_refs(extra, engine, yasa_engine)
        data = f"{len(extra)} {name} nights ({source.get('type')}, seeds from " \
               f"{source.get('seed')}, never trained on)"
        print(f"\n{data}, {m} epochs")
        for k, v in o.items():
            print(_table(k, v))
        result["extra_sets"][name] = {"data": data, "overall": o, "per_subject": per,
                                      "n_epochs": m, "n_subjects": len(extra)}
    if args.output_json:  # (a fresh clone has no build folder)
        Path(args.output_json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output_json).write_text(json.dumps(result, indent=2))
    if args.update_card:
        with editing_card(args.bundle) as card:
            key = ("held_out_synthetic" if card.get("synthetic_only")
                   else f"held_out_{args.split}")
            metrics = card.setdefault("metrics", {})
            metrics[key] = _card_entry(result["data"], len(refs), n, overall)
            for name, e in result["extra_sets"].items():
                metrics[f"{key}_{name}"] = _card_entry(e["data"], e["n_subjects"],
                                                       e["n_epochs"], e["overall"])
    return result
