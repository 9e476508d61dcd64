"""Does an independent sleep stager read our synthetic PSG as the stages it was made from?

Five synthetic nights are driven by REAL expert hypnograms (DOD-H, scorer 1, five
different nights; epochs scored -1 are dropped from the sequence: in DOD-H they are the
unscored tail after lights-on, plus one isolated epoch). Each night is written to EDF+,
read back with MNE and staged by YASA's pretrained LightGBM classifier (trained on ~3000
real NSRR nights, never on our data) from C4-M1, E1-M2 and Chin1-Chin2.

Peer in the same run: human inter-scorer agreement on the same real nights (Cohen's kappa
of each of scorers 2-5 against scorer 1, pooled over epochs); the ratio
YASA-on-synthetic / human-vs-human is printed.

Bar: overall kappa >= 0.6, every stage but N1 with F1 >= 0.6.

Run: ``python bench/synth_realism.py`` (about a minute per night on 2 cores).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOD = ROOT.parent / "shared" / "data" / "hypnograms" / "dod" / "dodh"
LABELS = ["W", "N1", "N2", "N3", "REM"]
YASA_CODE = {"W": 0, "WAKE": 0, "N1": 1, "N2": 2, "N3": 3, "R": 4, "REM": 4}
N_NIGHTS = 5


def _load(scorer: int, name: str) -> np.ndarray:
    return np.asarray(json.loads((DOD / f"scorer_{scorer}" / name).read_text()), dtype=int)


def _yasa_stages(path: Path, subject: dict) -> np.ndarray:
    import mne
    import yasa

    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    sls = yasa.SleepStaging(raw, eeg_name="C4-M1", eog_name="E1-M2", emg_name="Chin1-Chin2",
                            metadata={"age": subject["age"], "male": subject["male"]})
    with warnings.catch_warnings():  # the classifier was pickled with an older sklearn
        warnings.simplefilter("ignore")
        hyp = sls.predict()
    return np.array([YASA_CODE[s] for s in hyp.hypno])


def main() -> int:
    from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score

    from app.core.synth import synthesize, write_edf

    if not DOD.is_dir():
        print(f"../shared/data not found: {DOD} is missing; nothing to measure.")
        return 2
    names = sorted(p.name for p in (DOD / "scorer_1").glob("*.json"))
    picks = names[:: max(1, len(names) // N_NIGHTS)][:N_NIGHTS]
    all_true, all_pred, human = [], [], []
    t0 = time.perf_counter()
    print(f"{'night':<10}{'epochs':>7}{'kappa':>7}  F1 " + " ".join(f"{s:>5}" for s in LABELS)
          + f"{'human k':>9}{'seconds':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(picks):
            t1 = time.perf_counter()
            s1 = _load(1, name)
            keep = s1 >= 0  # drop unscored epochs (the tail after lights-on)
            stages = s1[keep]
            study = synthesize(stages, seed=i, montage="aasm", sfreq=256.0)
            path = write_edf(study, Path(tmp) / f"night{i}.edf")
            pred = _yasa_stages(path, study.subject)
            pairs = []
            for other in (_load(k, name) for k in range(2, 6)):
                both = keep & (other >= 0)
                pairs.append((s1[both], other[both]))
            human += pairs
            f1 = f1_score(stages, pred, labels=range(5), average=None, zero_division=0)
            kappa = cohen_kappa_score(stages, pred)
            hk = np.mean([cohen_kappa_score(a, b) for a, b in pairs])
            print(f"{name[:8]:<10}{stages.size:>7}{kappa:>7.3f}     "
                  + " ".join(f"{v:>5.2f}" for v in f1)
                  + f"{hk:>9.3f}{time.perf_counter() - t1:>9.1f}")
            all_true.append(stages)
            all_pred.append(pred)
    y, p = np.concatenate(all_true), np.concatenate(all_pred)
    cm = confusion_matrix(y, p, labels=range(5))
    f1 = f1_score(y, p, labels=range(5), average=None, zero_division=0)
    kappa = cohen_kappa_score(y, p)
    hk = cohen_kappa_score(np.concatenate([h[0] for h in human]),
                           np.concatenate([h[1] for h in human]))
    print("\nconfusion (rows: stage the signal was made from, columns: YASA)")
    print("       " + "".join(f"{s:>7}" for s in LABELS))
    for s, row in zip(LABELS, cm):
        print(f"{s:<7}" + "".join(f"{v:>7d}" for v in row))
    print("\nper-stage F1: " + ", ".join(f"{s} {v:.3f}" for s, v in zip(LABELS, f1)))
    print(f"overall kappa {kappa:.3f}   accuracy {np.mean(y == p):.3f}   epochs {y.size}")
    print(f"peer: human scorers 2-5 vs scorer 1 on the same real nights, kappa {hk:.3f}; "
          f"ratio YASA-on-synthetic / human = {kappa / hk:.2f}")
    ok = kappa >= 0.6 and all(f1[s] >= 0.6 for s in (0, 2, 3, 4))
    print(f"bar (kappa >= 0.6, F1 >= 0.6 for W/N2/N3/REM): {'PASS' if ok else 'FAIL'}"
          f"   total {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
