"""psg-lens agree A B [C ...]: agreement between scorings of the same night."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agree", help="kappa, F1 and confusion between two or more scorings")
    p.add_argument("hypnograms", nargs="+", help="two or more hypnogram files of one night")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _print(title: str, a) -> None:
    labels = ["W", "N1", "N2", "N3", "REM"]
    print(f"{title}\n  epochs compared {a.n_epochs} (excluded {a.n_excluded}): "
          f"accuracy {a.accuracy:.3f}, Cohen's kappa {a.kappa:.3f}, macro-F1 {a.macro_f1:.3f}")
    print("  F1: " + ", ".join(f"{k} {v:.3f}" for k, v in a.f1.items() if v == v))
    print("  confusion (rows: first, columns: second)\n        " +
          "".join(f"{lab:>6}" for lab in labels))
    for lab, row in zip(labels, a.confusion, strict=True):
        print(f"    {lab:<4}" + "".join(f"{int(v):6d}" for v in row))


def run(args: argparse.Namespace) -> int:
    from app.core.formats import read_hypnogram
    from app.core.scoring.agreement import agreement, leave_one_out
    from app.errors import PSGLensError

    if len(args.hypnograms) < 2:
        raise PSGLensError("Give at least two hypnogram files of the same night to compare.")
    hyps = [read_hypnogram(p) for p in args.hypnograms]
    base = hyps[0].epoch_sec
    hyps = [h if h.epoch_sec == base else h.resample(base) for h in hyps]
    if len(hyps) == 2:
        a = agreement(hyps[0], hyps[1])
        if args.json:
            print(json.dumps(a.to_dict(), indent=2))
        else:
            _print(f"{args.hypnograms[1]} against {args.hypnograms[0]}", a)
        return 0
    results = leave_one_out(hyps)
    if args.json:
        print(json.dumps({p: r.to_dict() for p, r in zip(args.hypnograms, results, strict=True)},
                         indent=2))
        return 0
    for p, r in zip(args.hypnograms, results, strict=True):
        _print(f"{p} against the consensus of the others", r)
    return 0
