"""ISRUC-Sleep, as unpacked from its archives.

Layout: one folder per subject, named by its number, holding the PSG (an EDF file with
the extension ``.rec``) and the two scorers' hypnograms, one integer per 30-s epoch per
line (R&K-style codes: 0 W, 1 N1, 2 N2, 3 N3, 5 REM)::

    data/isruc/subgroup1/1/1.rec
    data/isruc/subgroup1/1/1_1.txt     scorer 1
    data/isruc/subgroup1/1/1_2.txt     scorer 2

The subject id is ``isruc-`` plus the folder's path under ``root`` (``isruc-subgroup1-1``).
``scorer``: 1 (default), 2, or ``"consensus"`` (epochs where both agree; the others
Unscored, so they are not trained on). The label files run a few epochs past the end
of the recording; those are cropped.

Config entry::

    {"type": "isruc", "root": "data/isruc", "scorer": 1}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.datasets import DatasetError, StudyRef, check_keys, fit_to_recording

OPTIONS = ("root", "scorer")
PREFIX = "isruc-"


def _scorer_files(folder: Path, scorer) -> list[Path]:
    n = folder.name
    if scorer == "consensus":
        return [folder / f"{n}_1.txt", folder / f"{n}_2.txt"]
    if scorer in (1, 2, "1", "2"):
        return [folder / f"{n}_{int(scorer)}.txt"]
    raise DatasetError(f"ISRUC 'scorer' must be 1, 2 or \"consensus\", not {scorer!r}.")


def find(source: dict) -> list[StudyRef]:
    check_keys(source, OPTIONS)
    root = Path(source.get("root", "data/isruc"))
    if not root.is_dir():
        raise DatasetError(f"The ISRUC folder {root} does not exist; unpack ISRUC-Sleep there "
                           "or fix 'root' in the config.")
    scorer = source.get("scorer", 1)
    refs, missing = [], []
    for rec in sorted(root.rglob("*.rec"), key=lambda p: (len(p.parts), str(p))):
        folder = rec.parent
        if rec.stem != folder.name:
            continue  # ISRUC keeps N.rec in folder N; anything else is not a subject
        labels = _scorer_files(folder, scorer)
        if not all(f.is_file() for f in labels):
            missing.append(str(folder))
            continue
        rel = folder.relative_to(root).parts if folder != root else (folder.name,)
        refs.append(StudyRef(PREFIX + "-".join(rel), source.get("name", "isruc"), "isruc",
                             {"psg": str(rec), "labels": [str(f) for f in labels],
                              "study": "-".join(rel), "scorer": str(scorer)}))
    if missing:
        raise DatasetError(f"{len(missing)} ISRUC subject folder(s) lack the label file(s) of "
                           f"scorer {scorer} ({', '.join(missing[:3])}); unpack them or choose "
                           "another scorer.")
    if not refs:
        raise DatasetError(f"Found no ISRUC subject folders (N/N.rec) under {root}.")
    return refs


def read_labels(path: str | Path):
    """One ISRUC label file as a 30-s Hypnogram (codes 0-3 W-N3, 5 REM)."""
    from app.core.formats import read_hypnogram

    # the NSRR/Profusion integer convention is ISRUC's: 4 (R&K S4) -> N3, 5 REM
    return read_hypnogram(path, format="text", convention="nsrr", epoch_sec=30.0)


def load(ref: StudyRef):
    from app.core.scoring.hypnogram import Hypnogram, Source
    from app.core.signals.recording import Recording

    p = ref.params
    rec = Recording.open(p["psg"])
    hyps = [read_labels(f) for f in p["labels"]]
    if len(hyps) == 1:
        hyp = hyps[0]
    else:
        n = min(h.n_epochs for h in hyps)
        a, b = hyps[0].stages[:n], hyps[1].stages[:n]
        hyp = Hypnogram(np.where(a == b, a, -1).astype(np.int8), scorer="consensus 1+2",
                        source=Source.IMPORTED)
    # the files hold no clock time: epoch 0 is the recording's first 30 s
    hyp = fit_to_recording(hyp, rec, offset_sec=0.0)
    return rec, hyp, {"study": p["study"], "psg": p["psg"], "hypnogram": p["labels"]}
