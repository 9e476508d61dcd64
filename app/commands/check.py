"""psg-lens check: the input check a model run does first, on its own.

Per channel that fills a row of the model's picture: flat, disconnected, clipped, NaN or
inf, implausible amplitude, sampling rate too low, inverted; per epoch, how unlike the
model's training data the signals are. Each problem is one sentence with the channel, the
time and what to do; the epochs the model will not stage are listed.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check a study's channels before staging",
                       description="The input check that psg-lens score and the workstation "
                                   "run before the model: what is usable, where, and why.")
    p.add_argument("study", metavar="STUDY", help="PSG file (EDF, EDF+, BDF, ...)")
    p.add_argument("--model", help="model bundle whose picture is checked (default: the "
                                   "embedded model)")
    p.add_argument("--truncated", action="store_true",
                   help="check the complete part of a truncated EDF")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.score import default_model_path
    from app.core.inference.auto import FUSED_AHEAD, fusion_reason
    from app.core.inference.bundle import load_bundle
    from app.core.signals.quality import STATUS_TEXT, check_recording, display_name
    from app.core.signals.recording import Recording
    from app.core.signals.render import resolve_sources

    bundle = load_bundle(args.model or default_model_path())
    rec = Recording.open(args.study, allow_truncated=args.truncated)
    sources = resolve_sources(rec, bundle.spec)
    report = check_recording(rec, bundle.spec, sources, reference=bundle.feature_reference)
    reason = fusion_reason(bundle, {r.slot for r, s in zip(bundle.spec.rows, sources)
                                    if s is not None})
    if args.json:
        out = report.to_dict()
        out["study"] = str(rec.path)
        out["model"] = bundle.scorer_id
        out["slots"] = {r.slot: None if s is None else display_name(s)
                        for r, s in zip(bundle.spec.rows, sources, strict=True)}
        out["counts"] = {STATUS_TEXT[k]: int((report.status == k).sum()) for k in STATUS_TEXT}
        out["score_engine"] = "vlm" if reason is None else "fused"
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"{rec.path.name}: {rec.n_epochs} epochs; checked for {bundle.scorer_id} "
          f"(picture '{bundle.spec.name}')")
    for r, s in zip(bundle.spec.rows, sources, strict=True):
        shown = "missing (drawn as a dashed line)" if s is None else \
            f"{display_name(s)}  [{s.quality}]"
        print(f"  {r.label:<8} <- {shown}")
    if reason is None:
        print("psg-lens score stages this study with the model alone.")
    elif reason.get("kind") == FUSED_AHEAD:
        print(f"psg-lens score stages this study with the model and {reason['peer']} together: "
              f"with these leads the card measured both together right on "
              f"{reason['fused']:.3f} of epochs, the model as scored on "
              f"{reason['model_accuracy']:.3f} and {reason['peer']} on "
              f"{reason['peer_accuracy']:.3f} ({reason['data']}); --engine vlm stages with "
              "the model alone.")
    else:
        print(f"psg-lens score stages this study with the model and {reason['peer']} together: "
              f"with these leads the card measured {reason['peer']} right on "
              f"{reason['peer_accuracy']:.2f} of epochs and the model on "
              f"{reason['model_accuracy']:.2f} ({reason['data']}); --engine vlm stages with "
              "the model alone.")
    print(report.summary())
    counts = {k: int((report.status == k).sum()) for k in STATUS_TEXT}
    print("epochs: " + ", ".join(f"{n} {STATUS_TEXT[k]}" for k, n in counts.items()))
    return 0
