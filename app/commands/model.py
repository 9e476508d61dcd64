"""psg-lens model info|check BUNDLE: read a bundle's card, or load it and score one epoch;
psg-lens model import sleepvlm WEIGHTS --prompt PROMPT -o BUNDLE: make a bundle of them."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from app.errors import PSGLensError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="inspect or check a model bundle")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    info = msub.add_parser("info", help="print the model card (does not load weights)")
    info.add_argument("bundle", help="model bundle folder")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    info.set_defaults(model_func=run_info)
    check = msub.add_parser("check", help="load the model and score one synthetic epoch")
    check.add_argument("bundle", help="model bundle folder")
    check.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    check.add_argument("--generate", action="store_true",
                       help="also print the free text the model writes (debug)")
    check.add_argument("--mode", choices=("rationale", "fast"), default=None,
                       help="for models that answer in JSON: write the rationale first "
                            "(the card's default) or read the stage at once")
    check.set_defaults(model_func=run_check)
    imp = msub.add_parser("import", help="make a bundle of a public model's weights folder")
    imp.add_argument("kind", choices=("sleepvlm",), help="what the weights are")
    imp.add_argument("weights", help="the weights folder (e.g. Feng613/SleepVLM-3B, downloaded)")
    imp.add_argument("--prompt", help="the system prompt file the model was trained with "
                                      "(SleepVLM: sleepvlm/prompts/phase2_sft_fine.md)")
    imp.add_argument("-o", "--output", required=True, help="the bundle folder to write")
    imp.add_argument("--variant", choices=("fine", "coarse"), default="fine",
                     help="fine: answers with a rationale (default); coarse: rules and stage")
    imp.add_argument("--copy", action="store_true",
                     help="copy the weights into the bundle (default: point at the folder)")
    imp.add_argument("--name", default="sleepvlm-3b", help="the bundle's name")
    imp.set_defaults(model_func=run_import)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return args.model_func(args)


def _fmt(value, indent: str = "    ") -> str:
    if isinstance(value, dict):
        if not value:
            return "-"
        return "\n" + "\n".join(f"{indent}{k}: {_fmt(v, indent + '  ')}"
                                for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "\n" + "\n".join(f"{indent}{row}" for row in value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value in (None, "", []) else str(value)


def run_info(args: argparse.Namespace) -> int:
    from app.core.inference.bundle import load_bundle

    bundle = load_bundle(args.bundle)
    if args.json:
        print(json.dumps(bundle.card, indent=2))
        return 0
    d = bundle.describe()
    base = d["base_model"] or "-"
    print(f"{d['name']} {d['version']}  ({d['path']})")
    print(f"  architecture:    {d['architecture']}")
    outside = bundle.card.get("weights")
    print("  weights:         " + (f"LoRA adapter '{d['adapter']}' on base {base}"
                                    if d["adapter"] else f"full model in {outside}"
                                    if outside else "full model in the bundle"))
    print(f"  labels:          {', '.join(d['labels'])}")
    if d["layout"]:
        lay = d["layout"]
        print(f"  question:        pictures of epochs {lay['pictures']} around the target, "
              f"system prompt {lay['system_prompt']}")
        print(f"  answer:          {lay['answer']}; default mode {lay['default_mode']}")
    else:
        print(f"  prompt:          {d['prompt']}")
    print(f"  render spec:     {d['render_spec']}")
    norm = d["image_normalisation"] or {}
    if norm:
        print(f"  normalisation:   mean {norm.get('mean')}, std {norm.get('std')}")
    metrics = dict(d["metrics"] or {})
    subsets = metrics.pop("channel_subsets", None)
    real = metrics.pop("real_recordings", None)
    metrics.pop("fusion", None)  # printed as its own table, below
    d["metrics"] = metrics
    for label, key in (("training data", "training_data"), ("metrics", "metrics"),
                       ("intended use", "intended_use"), ("limitations", "limitations"),
                       ("licence", "licence")):
        text = _fmt(d[key])
        print(f"  {label}:{text}" if text.startswith("\n") else f"  {label + ':':<16} {text}")
    _print_validation(bundle.card.get("calibration"), subsets, real)
    _print_smoothing(bundle.card.get("smoothing"))
    _print_fusion(bundle.fusion)
    if d["synthetic_only"]:
        print("  NOTE: trained on synthetic signals only. It demonstrates the software; it "
              "is not validated on real patients and must not be used for diagnosis.")
    return 0


def _print_fusion(fusion: dict | None) -> None:
    """The card's fusion with its peer: the weights and, per lead set, the three figures."""
    if fusion is None:
        return
    w = fusion["weights"]
    print(f"  fused with {fusion['peer']}: the model's weight {w['one EEG lead']:g} with one "
          f"EEG lead, {w['several leads']:g} with several ({fusion.get('data', '')})")
    if "temperature" in fusion:
        ece = fusion.get("ece") if isinstance(fusion.get("ece"), dict) else {}
        print(f"                   fused probabilities: temperature {fusion['temperature']:g}; "
              f"expected calibration error {_figure(ece, 'before')} -> "
              f"{_figure(ece, 'after')}")
    for r in fusion.get("results", []):
        print(f"    {r['name']:<62} fused {r['fused']:.3f}  model {r['model']:.3f}  "
              f"{fusion['peer']} {r['peer']:.3f}")


def _figure(d: dict, key: str, fmt: str = ".3f") -> str:
    """A card's figure as text; a missing or non-numeric one reads '?' (a hand-edited or
    older card must not stop `model info`)."""
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "?"
    return str(int(v)) if fmt == "d" else format(v, fmt)


def _print_validation(cal: dict | None, subsets: dict | None, real: dict | None) -> None:
    """Calibration, channel subsets and real-recording figures, as tables."""
    if isinstance(cal, dict) and cal:
        print(f"  calibration:     temperature {_figure(cal, 'temperature')} "
              f"({cal.get('method', '')}); expected calibration error "
              f"{_figure(cal, 'ece_before')} -> {_figure(cal, 'ece_after')}")
        print(f"                   fitted on {cal.get('fitted_on', '?')}; measured on "
              f"{cal.get('measured_on', '?')}")
    if isinstance(subsets, dict) and subsets:
        rows = [r for r in subsets.get("subsets", []) if isinstance(r, dict)]
        if rows:
            print(f"  channel subsets: {rows[0].get('data', '')}; each picture alone")
            peer = rows[0].get("peer")
            if isinstance(peer, dict):
                print(f"                   whole nights: {peer.get('data', '')}, this model "
                      "as psg-lens score --engine vlm stages them beside the peer")
            for r in rows:
                peer = r.get("peer") if isinstance(r.get("peer"), dict) else None
                beside = (f"  | whole nights: score {_figure(peer, 'model_accuracy')}, "
                          f"{peer.get('name', '?')} {_figure(peer, 'accuracy')}" if peer else "")
                print(f"    {str(r.get('name', '?')):<62} acc {_figure(r, 'accuracy')}  "
                      f"kappa {_figure(r, 'kappa')}{beside}")
        for m, v in (subsets.get("montages_as_recorded") or {}).items():
            print(f"    montage {m:<54} acc {_figure(v, 'accuracy')}  "
                  f"(n={_figure(v, 'n_epochs', 'd')})")
    if isinstance(real, dict) and real:
        print(f"  real recordings: {real.get('note', '')}")
        for r in real.get("recordings", []):
            if isinstance(r, dict):
                print(f"    {r.get('recording', '?')}: {r.get('result', '?')}")


def _print_smoothing(sm: dict | None) -> None:
    """The card's whole-night smoothing and what it did on held-out nights."""
    if not isinstance(sm, dict):
        print("  smoothing:       none: each epoch is staged from its own picture alone")
        return
    print(f"  smoothing:       whole night (prior weight {_figure(sm, 'prior_weight', 'g')}, "
          f"evidence weight {_figure(sm, 'evidence_weight', 'g')}, temperature "
          f"{_figure(sm, 'temperature', 'g')}); psg-lens score --no-smooth turns it off")
    held = sm.get("held_out") if isinstance(sm.get("held_out"), dict) else {}
    raw, smoothed = held.get("raw") or {}, held.get("smoothed") or {}
    if raw and smoothed:
        print(f"                   accuracy {_figure(raw, 'accuracy')} -> "
              f"{_figure(smoothed, 'accuracy')}, expected calibration error "
              f"{_figure(raw, 'ece')} -> {_figure(smoothed, 'ece')} on "
              f"{sm.get('measured_on', '?')}")


def _synthetic_recording(folder: Path):
    """A short synthetic study to score its middle epoch; and that epoch's true stage."""
    from app.core.signals.recording import Recording

    path = folder / "check.edf"
    try:
        from app.core.synth import make_study_file
    except ImportError:
        make_study_file = None
    if make_study_file is not None:
        make_study_file(path, stages=np.array([0, 1, 2, 2, 2]), seed=0, sfreq=256.0)
        return Recording.open(path), "N2"
    else:  # fallback: noise on the AASM channel names
        from edfio import Edf, EdfSignal

        rng = np.random.default_rng(0)
        sigs = [EdfSignal(rng.normal(0, 20, 150 * 256), 256.0, label=n,
                          physical_dimension="uV", physical_range=(-200, 200))
                for n in ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin1-Chin2")]
        Edf(sigs, data_record_duration=1.0).write(path)
    return Recording.open(path), None


def run_import(args: argparse.Namespace) -> int:
    from app.core.inference.importers import import_sleepvlm

    out = import_sleepvlm(args.weights, args.prompt, args.output, variant=args.variant,
                          copy=args.copy, name=args.name)
    print(f"wrote {out}")
    print(f"check it with:  psg-lens model check {out}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from app.core.inference.engine import StageEngine
    from app.core.signals.render import render_many

    engine = StageEngine(args.bundle, device=args.device, batch_size=1,
                         mode=getattr(args, "mode", None))
    print(f"loaded {engine.name} on {engine.device} ({str(engine.dtype).replace('torch.', '')})")
    print("label tokens:    " + engine.readout.describe(engine.processor.tokenizer))
    with tempfile.TemporaryDirectory() as tmp:
        rec, truth = _synthetic_recording(Path(tmp))
        epoch = rec.n_epochs // 2
        hyp = engine.score(rec, epochs=[epoch])
        answer = hyp.meta.get("answers", {}).get(str(epoch))
        if answer is not None and answer["stage"] is None:
            raise PSGLensError(f"{engine.name} gave no stage for a synthetic epoch: "
                               f"{answer['note']}.")
        p = hyp.probabilities[epoch]
        if not np.all(np.isfinite(p)) or abs(float(p.sum()) - 1) > 1e-3:
            raise PSGLensError(f"{engine.name} gave invalid probabilities {p.tolist()}.")
        what = f"synthetic {truth}" if truth else "synthetic noise"
        print(f"epoch {epoch + 1} of a synthetic study ({what}), drawn "
              f"{engine.spec.width}x{engine.spec.height} with spec {engine.spec.name!r}:")
        for lab, v in zip(engine.bundle.labels, p):
            print(f"  {lab:<5} {v:.4f}  {'#' * int(round(v * 40))}")
        print(f"  -> {engine.bundle.labels[int(p.argmax())]}")
        if answer is not None:
            print(f"mode {answer['mode']}; rationale: {answer['rationale'] or '-'}")
            print(f"rules cited: {', '.join(answer['rules']) or '-'}")
        if args.generate and engine.chat is None:
            image = next(render_many(rec, engine.spec, [epoch]))[0]
            print(f"generated text: {engine.generate_raw(image)!r}")
    for note in engine.notices:
        print(f"note: {note}")
    return 0
