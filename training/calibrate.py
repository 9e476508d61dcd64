"""``python -m training calibrate CONFIG``: calibrate a bundle and measure what it can do.

Three things go into the bundle's card, each with the data it was measured on:

1. ``calibration``: a temperature fitted on the VALIDATION images (negative
   log-likelihood, :func:`app.core.inference.calibration.fit_temperature`), and the
   expected calibration error and reliability bins on the TEST images before and after.
2. ``input_check``: the training statistics the input check compares epochs with (log
   band powers per slot over the TRAINING subjects' signals).
3. ``metrics.channel_subsets``: accuracy, macro-F1 and kappa on held-out nights drawn with
   each channel subset a technician may have (every channel, one EEG, no EOG, no chin,
   the Sleep-EDF cassette's slots, ...), each picture alone, and on the test images per
   montage as recorded.

The peer figures need the bundle's smoothing, fitted after calibration: ``python -m training
subsets CONFIG`` (the step after ``smoothing`` in ``all``; no image cache needed) measures
the subset table again with them and writes only that.

Images go through the app's own engine (:meth:`StageEngine.probabilities`), so what is
measured is what the app shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.scoring.agreement import agreement
from app.core.scoring.stages import STAGE_LABELS

# The channel sets a technician may have, as slots of the clinical picture.
SUBSETS = (
    ("every channel", ("frontal", "central", "occipital", "e1", "e2", "chin")),
    ("EEG + EOG, no chin", ("frontal", "central", "occipital", "e1", "e2")),
    ("EEG + chin, no EOG", ("frontal", "central", "occipital", "chin")),
    ("three EEG only", ("frontal", "central", "occipital")),
    ("central EEG + one EOG + chin", ("central", "e1", "chin")),
    ("Sleep-EDF cassette slots (frontal, occipital, one EOG, chin)",
     ("frontal", "occipital", "e1", "chin")),
    ("one central EEG", ("central",)),
    ("one frontal EEG", ("frontal",)),
    ("one occipital EEG", ("occipital",)),
)


@dataclass
class CalibrateArgs:
    bundle: str
    cache_dir: str
    batch_size: int = 32
    max_val_images: int = 3000
    max_test_images: int | None = None
    feature_subjects: int = 40
    subset_subjects: int = 8
    subset_epochs: int = 240
    subset_seed: int = 900000
    subset_montage: str = "full"
    subset_hours: float = 8.0
    peer: bool = True  # `subsets`: whole nights beside YASA from the same leads (needs yasa)
    reliability_png: str | None = None
    update_card: bool = True
    output_json: str | None = None
    extra: dict = field(default_factory=dict)


def _images(cache_dir: Path, rows: list[dict]):
    from PIL import Image

    out = []
    for r in rows:
        with Image.open(cache_dir / r["path"]) as im:
            out.append(np.asarray(im.convert("RGB")))
    return out


def _probs(engine, cache_dir: Path, rows: list[dict], batch: int) -> np.ndarray:
    out = []
    for i in range(0, len(rows), batch):
        out.append(engine.probabilities(_images(cache_dir, rows[i:i + batch])))
    return np.concatenate(out) if out else np.zeros((0, 5), np.float32)


def _metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    a = agreement(y, pred).to_dict()
    return {k: a[k] for k in ("accuracy", "macro_f1", "kappa", "f1", "n_epochs")}


def feature_reference(cache_dir: str, spec, n_subjects: int):
    """Fit the input check's statistics on training subjects' signals (their own epochs)."""
    from app.core.signals.features import FeatureReference, epoch_features
    from app.core.signals.render import resolve_sources
    from training.cache import read_index
    from training.datasets import find_studies

    manifest = json.loads((Path(cache_dir) / "manifest.json").read_text())
    train = set(manifest["subjects"]["train"])
    index = read_index(cache_dir, "train")
    chosen: dict[str, list[int]] = {}
    for r in index:
        chosen.setdefault(r["subject"], []).append(int(r["epoch"]))
    refs = [r for src in manifest["args"]["sources"] for r in find_studies(src)
            if r.subject_id in train][:n_subjects]
    per_slot: dict[str, list[np.ndarray]] = {}
    for ref in refs:
        rec, _, _ = ref.load()
        sources = resolve_sources(rec, spec)
        epochs = np.asarray(sorted(chosen.get(ref.subject_id, [])), int)
        if epochs.size == 0:
            continue
        for row, src in zip(spec.rows, sources, strict=True):
            if src is None:
                continue
            sig = rec.get_window(0, rec.n_epochs * rec.epoch_sec, [src])[src.name]
            n = int(round(rec.epoch_sec * sig.sfreq))
            x = sig.data[: rec.n_epochs * n].reshape(rec.n_epochs, n)[epochs]
            per_slot.setdefault(row.slot, []).append(
                epoch_features(x, sig.sfreq, row.kind)["bands"])
    return FeatureReference.fit({k: np.concatenate(v) for k, v in per_slot.items()
                                 if {b.shape[1] for b in v} == {v[0].shape[1]}})


def subset_accuracy(engine, args: CalibrateArgs, peer: bool = False) -> list[dict]:
    """Accuracy with each channel subset on held-out varied nights (natural stage mix):
    each picture alone at ``subset_epochs`` sampled epochs; with ``peer``, also the whole
    night as ``psg-lens score`` stages it (the engine's temperature and smoothing) beside
    YASA reading the same leads."""
    from app.core.signals.render import render_many, resolve_sources
    from app.core.synth import synthesize

    spec = engine.spec
    slots = [r.slot for r in spec.rows]
    rng = np.random.default_rng(args.subset_seed)
    truth, preds = [], {name: [] for name, _ in SUBSETS}
    # with the peer: whole nights, as score stages them, each picture alone, and YASA's
    nights, scored, alone, peers = [], *({name: [] for name, _ in SUBSETS} for _ in range(3))
    for i in range(args.subset_subjects):
        study = synthesize(hours=args.subset_hours, seed=args.subset_seed + i,
                           montage=args.subset_montage, varied=True)
        rec = study.to_recording(name=f"subset-{i}")
        epochs = np.sort(rng.choice(rec.n_epochs, min(args.subset_epochs, rec.n_epochs),
                                    replace=False))
        truth.append(study.scored_stages[epochs])
        nights.append(study.scored_stages)
        full = resolve_sources(rec, spec)
        for name, keep in SUBSETS:
            sources = [s if slot in keep else None for slot, s in zip(slots, full)]
            p = np.concatenate([engine.probabilities(b) for b in
                                render_many(rec, spec, epochs, sources=sources,
                                            batch_size=args.batch_size)])
            preds[name].append(p.argmax(1))
            if peer:
                both = _quietly_scored(engine, rec, sources)
                scored[name].append(both[0])
                alone[name].append(both[1])
                peers[name].append(peer_stages(rec, keep))
        print(f"  night {i + 1} of {args.subset_subjects}", flush=True)
    y = np.concatenate(truth)
    data = (f"{args.subset_subjects} held-out varied synthetic nights ({args.subset_montage} "
            f"montage, seeds {args.subset_seed}+), {y.size} epochs, natural stage mix")
    out = []
    for name, keep in SUBSETS:
        m = _metrics(y, np.concatenate(preds[name]))
        entry = {"name": name, "slots": list(keep), **m, "data": data}
        line = (f"  {name:<62} acc {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                f"kappa {m['kappa']:.3f}")
        if peer:
            entry["peer"] = _peer_entry(np.concatenate(nights), np.concatenate(scored[name]),
                                        np.concatenate(alone[name]),
                                        np.concatenate(peers[name]), args)
            line += (f" | whole nights: score {entry['peer']['model_accuracy']:.3f} (alone "
                     f"{entry['peer']['model_alone_accuracy']:.3f})  YASA "
                     f"{entry['peer']['accuracy']:.3f}  ratio "
                     f"{entry['peer']['model_accuracy'] / entry['peer']['accuracy']:.2f}x")
        print(line)
        out.append(entry)
    return out


def _quietly_scored(engine, rec, sources: list) -> tuple[np.ndarray, np.ndarray]:
    """The night as ``psg-lens score`` stages it and as each picture alone gave it,
    without logging the missing-row notice every subset of every night would repeat."""
    import logging

    from app.core.inference.engine import stages_before_smoothing

    engine_log = logging.getLogger("app.core.inference.engine")
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)
    try:
        hyp = engine.score(rec, sources=sources)
    finally:
        engine_log.setLevel(level)
    return hyp.stages, stages_before_smoothing(hyp)


def _peer_entry(y: np.ndarray, model: np.ndarray, alone: np.ndarray, peer: np.ndarray,
                args) -> dict:
    """The app's whole-night stages (and each picture alone) and YASA's from the same
    leads, on every scored epoch."""
    from app.core.inference.yasa_engine import YasaEngine

    keep = y >= 0
    mm, pm = _metrics(y[keep], model[keep]), _metrics(y[keep], peer[keep])
    return {"name": YasaEngine().name, "accuracy": pm["accuracy"], "kappa": pm["kappa"],
            "macro_f1": pm["macro_f1"], "model_accuracy": mm["accuracy"],
            "model_kappa": mm["kappa"],
            "model_alone_accuracy": float((alone[keep] == y[keep]).mean()),
            "n_epochs": int(keep.sum()),
            "data": (f"{args.subset_subjects} whole held-out varied synthetic nights "
                     f"({args.subset_montage} montage, seeds {args.subset_seed}+; "
                     f"{int(keep.sum())} epochs) staged from these leads only")}


def peer_stages(rec, keep: tuple[str, ...]) -> np.ndarray:
    """YASA's stages for the whole of ``rec`` read from the leads in ``keep`` only."""
    from app.core.inference.yasa_engine import EEG_SLOTS, YasaEngine

    peer = YasaEngine(use_eog="e1" in keep, use_emg="chin" in keep,
                      eeg_slots=[s for s in EEG_SLOTS if s in keep])
    return peer.score(rec).stages


def plot_reliability(before: dict, after: dict, path: str, title: str,
                     labels: tuple[str, str] = ("before", "after")) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=120)
    ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls="--", label="perfect calibration")
    for rel, label, color in ((before, labels[0], "#d55e00"), (after, labels[1], "#0072b2")):
        pts = [(b["confidence"], b["accuracy"]) for b in rel["bins"] if b["n"] >= 20]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", color=color,
                    label=f"{label} (ECE {rel['ece']:.3f})")
    ax.set_xlabel("model confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main_subsets(args: CalibrateArgs) -> list[dict]:
    """The channel-subset table again, each line beside YASA on the same whole nights
    (``args.peer``), scored with the bundle as it stands (its temperature and smoothing:
    run after ``smoothing``), written into the card; the rest of the card is kept."""
    from app.core.inference.bundle import load_bundle
    from app.core.inference.bundle_writer import editing_card
    from app.core.inference.engine import StageEngine

    engine = StageEngine(load_bundle(args.bundle), device="cpu", batch_size=args.batch_size)
    print("channel subsets:")
    subsets = subset_accuracy(engine, args, peer=args.peer)
    if args.update_card:
        with editing_card(args.bundle) as card:
            card.setdefault("metrics", {}).setdefault("channel_subsets", {})["subsets"] = subsets
    return subsets


def main(args: CalibrateArgs) -> dict:
    from app.core.inference.bundle import load_bundle
    from app.core.inference.bundle_writer import editing_card
    from app.core.inference.calibration import (
        apply_temperature,
        expected_calibration_error,
        fit_temperature,
        nll,
        reliability,
    )
    from app.core.inference.engine import StageEngine
    from training.cache import read_index

    bundle = load_bundle(args.bundle)
    bundle.card.pop("calibration", None)  # measure the raw model: no temperature yet
    engine = StageEngine(bundle, device="cpu", batch_size=args.batch_size)
    cache = Path(args.cache_dir)
    rng = np.random.default_rng(0)
    val = read_index(cache, "val")
    val = [val[i] for i in rng.permutation(len(val))[: args.max_val_images]]
    test = read_index(cache, "test")
    if args.max_test_images:
        test = [test[i] for i in rng.permutation(len(test))[: args.max_test_images]]
    y_val = np.array([STAGE_LABELS.index(r["label"]) for r in val])
    y_test = np.array([STAGE_LABELS.index(r["label"]) for r in test])
    print(f"calibrating on {len(val)} validation images, measuring on {len(test)} test images")
    p_val = _probs(engine, cache, val, args.batch_size)
    t = fit_temperature(p_val, y_val)
    p_test = _probs(engine, cache, test, args.batch_size)
    q_test = apply_temperature(p_test, t)
    before = reliability(p_test, y_test) | {"ece": expected_calibration_error(p_test, y_test)}
    after = reliability(q_test, y_test) | {"ece": expected_calibration_error(q_test, y_test)}
    print(f"temperature {t:.3f}: ECE {before['ece']:.4f} -> {after['ece']:.4f}, NLL "
          f"{nll(p_test, y_test):.4f} -> {nll(q_test, y_test):.4f} (test images)")
    by_montage = {}
    for m in sorted({r.get("montage", "") for r in test}):
        keep = [i for i, r in enumerate(test) if r.get("montage") == m
                and r.get("subset") == "as recorded"]
        if len(keep) >= 30:
            by_montage[m] = _metrics(y_test[keep], p_test[keep].argmax(1))
            print(f"  montage {m:<18} (as recorded) acc {by_montage[m]['accuracy']:.3f}  "
                  f"n={len(keep)}")
    print("channel subsets:")
    subsets = subset_accuracy(engine, args)
    reference = feature_reference(args.cache_dir, bundle.spec, args.feature_subjects)
    data_val = f"{len(val)} validation images of {args.cache_dir} (subjects not trained on)"
    data_test = f"{len(test)} test images of {args.cache_dir} (held-out subjects)"
    calibration = {"method": "temperature scaling (Guo et al. 2017), fitted by NLL",
                   "temperature": round(t, 4), "fitted_on": data_val, "measured_on": data_test,
                   "ece_before": round(before["ece"], 4), "ece_after": round(after["ece"], 4),
                   "nll_before": round(nll(p_test, y_test), 4),
                   "nll_after": round(nll(q_test, y_test), 4),
                   "reliability_before": before["bins"], "reliability_after": after["bins"],
                   "note": "measured on synthetic images; on real recordings the model's "
                           "confidence is not validated"}
    result = {"calibration": calibration, "channel_subsets": subsets,
              "montages": by_montage, "test_images": _metrics(y_test, p_test.argmax(1))}
    if args.reliability_png:
        plot_reliability(before, after, args.reliability_png,
                         f"{bundle.scorer_id}: reliability on\n{len(test)} held-out "
                         "synthetic test images")
    if args.output_json:
        Path(args.output_json).write_text(json.dumps(result, indent=2))
    if args.update_card:
        with editing_card(args.bundle) as card:
            card["calibration"] = calibration
            card["input_check"] = reference.to_dict() | {
                "fitted_on": f"{args.feature_subjects} training subjects of {args.cache_dir}"}
            card.setdefault("metrics", {})["channel_subsets"] = {
                "subsets": subsets, "montages_as_recorded": by_montage,
                "montages_data": data_test}
    return result
