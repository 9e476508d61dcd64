"""Which synthetic epochs does YASA, trained on real expert scoring, call N3?

Backs the one-directional label rule of :mod:`app.core.synth.scored`. Young subjects'
driven N2 often passes the measured slow-wave rule (>= 20 % of the epoch covered by
0.5-2 Hz, >= 75 uV waves at F4-M1); if real scorers would call such epochs N3, YASA
should too. For each night (aasm montage, clean and varied, young subjects by default)
the driven N2 and N3 epochs are split by the rule and YASA's stages counted in each.

Run: ``python bench/synth_scored.py [--seeds 50015 50022 50001 50026] [--hours 8]``
(about 3 minutes on 2 cores for the default eight nights).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.inference.yasa_engine import YasaEngine  # noqa: E402
from app.core.signals.graphoelements import slow_wave_cover  # noqa: E402
from app.core.synth import synthesize  # noqa: E402
from app.core.synth.scored import N3_COVER  # noqa: E402

GROUPS = (("N2, rule passed", 2, True), ("N2, rule failed", 2, False),
          ("N3, rule passed", 3, True), ("N3, rule failed", 3, False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[50015, 50022, 50001, 50026])
    ap.add_argument("--hours", type=float, default=8.0)
    args = ap.parse_args(argv)
    engine = YasaEngine()
    total = {g[0]: np.zeros(5, int) for g in GROUPS}
    ages = []
    print("night                 group             epochs  YASA W / N1 / N2 / N3 / REM")
    for seed in args.seeds:
        for varied in (False, True):
            s = synthesize(hours=args.hours, seed=seed, montage="aasm", varied=varied)
            ages.append(s.subject["age"])
            f4 = next(c for c in s.channels if "F4" in c.name)
            cover = slow_wave_cover(np.asarray(f4.data, float), f4.sfreq)
            yasa = engine.score(s.to_recording(name=str(seed))).stages
            n = min(cover.size, yasa.size, s.stages.size)
            drive, cover, yasa = s.stages[:n], cover[:n], yasa[:n]
            tag = f"{seed} {'varied' if varied else 'clean'} age {s.subject['age']}"
            for name, stage, passed in GROUPS:
                m = (drive == stage) & ((cover >= N3_COVER) == passed) & (yasa >= 0)
                c = np.bincount(yasa[m], minlength=5)
                total[name] += c
                if m.any():
                    print(f"{tag:<21} {name:<17} {int(m.sum()):>6}  {' / '.join(map(str, c))}")
    print(f"all {len(ages)} nights (ages {min(ages)}-{max(ages)}):")
    for name, c in total.items():
        k = int(c.sum())
        if k:
            print(f"  {name:<17} {k:>6} epochs: YASA N2 {c[2] / k:.0%}, N3 {c[3] / k:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
