"""Sleep statistics speed against YASA, and the DOD inter-scorer kappa table.

Run: ``python bench/stats.py`` from the project root. Prints, does not assert.

(a) Our :func:`app.core.scoring.stats.sleep_statistics` and ``yasa.sleep_statistics`` on every
    real hypnogram in ../shared/data/hypnograms, timed in the same run (best of 3 passes
    each over all files, files loaded once beforehand).
(b) DOD-H and DOD-O: each of the 5 scorers' Cohen's kappa against the consensus of the
    other four (majority; ties to the scorer who agrees most with the others), per night
    and averaged: the human baseline every model is measured against.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.scoring.agreement import leave_one_out  # noqa: E402
from app.core.scoring.hypnogram import Hypnogram  # noqa: E402
from app.core.scoring.stages import stages_to_ints  # noqa: E402
from app.core.scoring.stats import sleep_statistics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hypnograms"


def load(path: Path) -> Hypnogram:
    if path.suffix == ".json":
        return Hypnogram.from_ints(json.loads(path.read_text()), "dreem")
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if all(ln.lstrip("-").isdigit() for ln in lines):
        return Hypnogram.from_ints([int(ln) for ln in lines], "yasa")
    return Hypnogram.from_labels(lines)


def best_of(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_speed() -> None:
    import yasa

    paths = sorted(DATA.glob("dod/*/scorer_*/*.json")) + sorted(
        DATA.glob("sleep-edf-json/*.json")) + sorted(DATA.glob("yasa/*.txt"))
    hyps = [load(p) for p in paths]
    ints = [stages_to_ints(h.stages, "yasa") for h in hyps]
    n_epochs = sum(h.n_epochs for h in hyps)

    def ours() -> None:
        for h in hyps:
            sleep_statistics(h)

    def theirs() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            for a in ints:
                yasa.sleep_statistics(a, sf_hyp=1 / 30)

    t_ours, t_yasa = best_of(ours), best_of(theirs)
    print(f"(a) sleep statistics on {len(hyps)} real hypnograms ({n_epochs} epochs), "
          f"best of 3 passes")
    print(f"    PSG Lens sleep_statistics : {t_ours:.4f} s  ({1e3 * t_ours / len(hyps):.3f} "
          "ms/night)")
    print(f"    yasa {yasa.__version__} sleep_statistics : {t_yasa:.4f} s  "
          f"({1e3 * t_yasa / len(hyps):.3f} ms/night)")
    print(f"    ratio ours/YASA time = {t_ours / t_yasa:.2f} "
          f"(ours is {t_yasa / t_ours:.2f}x YASA's speed)")


def bench_kappa(dataset: str) -> np.ndarray:
    folder = DATA / "dod" / dataset
    names = sorted(p.name for p in (folder / "scorer_1").glob("*.json"))
    rows = []
    print(f"\n(b) {dataset.upper()}: kappa of each scorer vs the consensus of the other four "
          f"({len(names)} nights)")
    print(f"    {'night':<10}" + "".join(f"{'s' + str(i):>7}" for i in range(1, 6))
          + f"{'mean':>7}")
    for name in names:
        hyps = [load(folder / f"scorer_{i}" / name) for i in range(1, 6)]
        kappas = [r.kappa for r in leave_one_out(hyps)]
        rows.append(kappas)
        print(f"    {name[:8]:<10}" + "".join(f"{k:7.3f}" for k in kappas)
              + f"{np.mean(kappas):7.3f}")
    arr = np.array(rows)
    print(f"    {'mean':<10}" + "".join(f"{k:7.3f}" for k in arr.mean(axis=0))
          + f"{arr.mean():7.3f}")
    print(f"    {'median':<10}" + "".join(f"{k:7.3f}" for k in np.median(arr, axis=0))
          + f"{np.median(arr):7.3f}")
    return arr


def main() -> None:
    if not DATA.is_dir():
        print(f"No real hypnograms at {DATA}; nothing to benchmark.")
        return
    bench_speed()
    per_set = {d: bench_kappa(d) for d in ("dodh", "dodo")}
    print("\nSummary: mean kappa per scorer vs consensus of the other four")
    for d, arr in per_set.items():
        print(f"    {d.upper():<6}" + "  ".join(f"s{i + 1} {k:.3f}" for i, k in
                                           enumerate(arr.mean(axis=0)))
              + f"   overall {arr.mean():.3f}")


if __name__ == "__main__":
    main()
