"""Event detectors: speed on an 8-h study, and accuracy on nights with planted events.

Run: ``python bench/events.py [--hours 8] [--nights 3]`` from the project root. Prints,
does not assert.

(a) Speed. An 8-h synthetic PSG (the ``full`` montage at 256 Hz: flow, belts, SpO2, both
    legs, EEG and chin; with planted events when the synthesiser can plant them) is
    written as EDF+ and opened lazily, as a technician's study is. The detectors' time
    (all five, best of 2) is printed against a baseline measured in the same run: reading
    every channel they use once, whole, at its own rate (the least any detector must do).
(b) Accuracy. Nights with planted apneas and hypopneas, PLMs and arousals
    (``app.core.synth`` with ``EventIndices``; the truth is ``study.truth``): event-level
    precision, recall and F1 per type by overlap matching
    (:mod:`app.core.detectors.evaluation`), pooled over the nights, and each index (AHI,
    ODI3, ODI4, PLMI, arousal index) from the detector's events against the planted ones.
    Planted limb movements that belong to a series (``detail["series"]``) count as PLMs.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.detectors import detect_events  # noqa: E402
from app.core.detectors.evaluation import MatchScore, score_by_type  # noqa: E402
from app.core.detectors.reading import body_sources  # noqa: E402
from app.core.scoring.event_indices import index_table  # noqa: E402
from app.core.scoring.events import EventType  # noqa: E402
from app.core.scoring.hypnogram import Hypnogram  # noqa: E402
from app.core.signals.recording import Recording  # noqa: E402
from app.core.synth import synthesize, write_edf  # noqa: E402

T = EventType
APNEAS = (T.OBSTRUCTIVE_APNEA, T.CENTRAL_APNEA, T.MIXED_APNEA)
GROUPS = {"apnea (any type)": APNEAS, "apnea or hypopnea": (*APNEAS, T.HYPOPNEA),
          "limb movement (LM or PLM)": (T.LIMB_MOVEMENT, T.PLM)}
SHOWN = ("obstructive_apnea", "central_apnea", "mixed_apnea", "apnea (any type)", "hypopnea",
         "apnea or hypopnea", "desaturation", "arousal", "plm", "limb_movement",
         "limb movement (LM or PLM)")
INDICES = ("ahi", "odi3", "odi4", "plmi", "arousal_index")
SHORT = {"ahi": "AHI", "odi3": "ODI3", "odi4": "ODI4", "plmi": "PLMI", "arousal_index": "ArI"}
# (apnea, plm, arousal) events per hour of sleep: mild, moderate, severe nights
PLANS = ((5.0, 0.0, 8.0), (20.0, 15.0, 12.0), (45.0, 40.0, 18.0))


def planting():
    """``synthesize`` keyword arguments that plant clinical events, or None when the
    synthesiser cannot plant them yet."""
    try:
        from app.core.synth import EventIndices
    except ImportError:
        return None
    if "indices" not in inspect.signature(synthesize).parameters:
        return None
    return lambda a, p, r: {"indices": EventIndices(apnea=a, plm=p, arousal=r)}


def night(hours: float, seed: int, plan: tuple[float, float, float] | None):
    kw = {}
    make = planting()
    if plan is not None and make is not None:
        kw = make(*plan)
    return synthesize(hours=hours, seed=seed, montage="full", sfreq=256.0, **kw)


def best_of(fn, n: int = 2):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_speed(hours: float) -> None:
    study = night(hours, 7, PLANS[1])
    hyp = Hypnogram(np.asarray(study.stages))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "night.edf"
        write_edf(study, path)
        rec = Recording.open(path)
        used = [s for s in body_sources(rec).values() if s is not None]
        slots = rec.fill_slots(["central", "chin"])
        used += [s for s in slots.values() if s is not None]

        def read_all() -> int:
            n = 0
            for src in used:
                ch = rec.channel(src.plus)
                n += rec.get_window(0.0, ch.n_samples / ch.sfreq, [src])[src.name].data.size
            return n

        t_read, n_samples = best_of(read_all)
        t_detect, result = best_of(lambda: detect_events(rec, hyp))
    rate = rec.channel(used[0].plus).sfreq
    print(f"(a) speed: {hours:g}-h study, {len(used)} channels used at up to {rate:g} Hz "
          f"({n_samples / 1e6:.1f} M samples), EDF+ opened lazily")
    print(f"    read every channel used, whole (baseline): {t_read:6.2f} s")
    print(f"    all detectors (chunked reads included):    {t_detect:6.2f} s   "
          f"= {t_detect / t_read:.2f}x the baseline")
    per = ", ".join(f"{k} {v:.2f} s" for k, v in result.seconds.items())
    print(f"    per detector: {per}; {len(result.events)} events proposed")


def as_truth(events):
    """Planted LMs of a series are PLMs, as the detector types them."""
    return [e.replace(type=T.PLM) if e.type is T.LIMB_MOVEMENT
            and e.detail.get("series") is not None else e for e in events]


def bench_accuracy(hours: float, nights: int) -> None:
    if planting() is None:
        print("(b) accuracy: waiting for app.core.synth to plant clinical events "
              "(EventIndices, study.truth); nothing to measure against yet.")
        return
    pooled: dict[str, list[int]] = {}
    print(f"\n(b) accuracy on {nights} planted {hours:g}-h nights (full montage, 256 Hz)")
    print(f"    {'night (apnea/PLM/arousal per h)':<34}" + "".join(
        f"{SHORT[k] + ' true / found':>18}" for k in INDICES))
    errors: dict[str, list[float]] = {k: [] for k in INDICES}
    for k in range(nights):
        plan = PLANS[k % len(PLANS)]
        study = night(hours, 100 + k, plan)
        rec = study.to_recording()
        hyp = Hypnogram(np.asarray(study.stages))
        truth = as_truth(study.truth)
        found = detect_events(rec, hyp).events
        for name, s in score_by_type(found, truth, groups=GROUPS).items():
            acc = pooled.setdefault(name, [0, 0, 0])
            acc[0] += s.tp
            acc[1] += s.fp
            acc[2] += s.fn
        true_ix = index_table(truth, hyp).overall
        found_ix = index_table(found, hyp).overall
        cells = ""
        for key in INDICES:
            a, b = true_ix[key].value or 0.0, found_ix[key].value or 0.0
            errors[key].append(b - a)
            cells += f"{a:>11.1f} / {b:<4.1f}"
        name = f"seed {100 + k} ({plan[0]:g}/{plan[1]:g}/{plan[2]:g})"
        print(f"    {name:<34}{cells}")
    print(f"    {'mean |found - true| (per hour)':<34}" + "".join(
        f"{np.mean(np.abs(errors[k])):>16.2f}  " for k in INDICES))
    print(f"\n    {'event type':<28}{'planted':>8}{'found':>7}{'TP':>6}{'precision':>11}"
          f"{'recall':>8}{'F1':>7}")
    for name in SHOWN:
        if name not in pooled:
            continue
        s = MatchScore(*pooled[name])
        print(f"    {name:<28}{s.tp + s.fn:>8}{s.tp + s.fp:>7}{s.tp:>6}"
              f"{_f(s.precision):>11}{_f(s.recall):>8}{_f(s.f1):>7}")


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--nights", type=int, default=3)
    args = ap.parse_args()
    bench_speed(args.hours)
    bench_accuracy(args.hours, args.nights)


if __name__ == "__main__":
    main()
