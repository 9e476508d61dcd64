"""What planting clinical events costs: a whole synthetic night with and without them.

Run: ``python bench/synth_events.py [--hours 8] [--montage aasm] [--repeat 2]`` from the
project root. Prints, does not assert.

Times, for the same seed: planning alone (:class:`app.core.synth.clinical.ClinicalNight`
on the night's hypnogram), ``synthesize`` without events, ``synthesize`` with
``--apnea-index 30 --plm-index 25 --arousal-index 15`` (moderate OSA with PLMs) and with
the most each flag accepts (120, 150, 100: what the night has room for), and writing
each study as EDF+. Also the counts planted and the indices they make.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.synth import EventIndices, synthesize, write_edf  # noqa: E402
from app.core.synth.clinical import ClinicalNight  # noqa: E402
from app.core.synth.montages import recipes  # noqa: E402


def _timed(fn, repeat: int = 1):
    """(result, the fastest of ``repeat`` runs in seconds): other work on the machine
    only ever slows a run down."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--montage", default="aasm")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the fastest counts")
    args = ap.parse_args()
    synthesize(hours=0.1, seed=0, indices=EventIndices(apnea=5))  # warm-up: imports, caches
    base, t_base = _timed(lambda: synthesize(hours=args.hours, seed=args.seed,
                                             montage=args.montage), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        _, w_base = _timed(lambda: write_edf(base, Path(tmp) / "base.edf"))
        print(f"{args.hours:g}-h night, {args.montage}, seed {args.seed}: synthesize "
              f"{t_base:.2f} s, EDF {w_base:.2f} s ({len(base.channels)} channels)")
        hours = float((base.stages >= 1).sum()) * 30 / 3600
        for indices in (EventIndices(apnea=30, plm=25, arousal=15),
                        EventIndices(apnea=120, plm=150, arousal=100)):
            plan, t_plan = _timed(lambda i=indices: ClinicalNight(
                i, base.stages, 256.0, 30.0, base.subject, args.seed, recipes(args.montage)))
            study, t_syn = _timed(lambda i=indices: synthesize(
                hours=args.hours, seed=args.seed, montage=args.montage, indices=i), args.repeat)
            _, t_w = _timed(lambda s=study: write_edf(s, Path(tmp) / "events.edf"))
            kinds: dict[str, int] = {}
            for e in study.truth:
                kinds[e.type.value] = kinds.get(e.type.value, 0) + 1
            print(f"  {indices}: plan {t_plan:.2f} s, synthesize {t_syn:.2f} s "
                  f"(+{t_syn - t_base:.2f} s), EDF {t_w:.2f} s ({len(study.channels)} "
                  f"channels, {len(study.truth)} events)")
            print(f"    per hour of sleep ({hours:.2f} h): " + ", ".join(
                f"{k} {v / hours:.1f}" for k, v in sorted(kinds.items())))
            del plan


if __name__ == "__main__":
    main()
