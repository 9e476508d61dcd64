"""Sleep-EDF Expanded (PhysioNet ``sleep-edfx``), as downloaded.

Layout (both subsets, any depth under ``root``)::

    data/sleep-edf/sleep-cassette/SC4001E0-PSG.edf
    data/sleep-edf/sleep-cassette/SC4001EC-Hypnogram.edf
    data/sleep-edf/sleep-telemetry/ST7011J0-PSG.edf
    data/sleep-edf/sleep-telemetry/ST7011JP-Hypnogram.edf

A PSG and its hypnogram share their first 7 characters (``SC4001E``). Names are
``SC4ssN``/``ST7ssN``: ``ss`` is the subject and ``N`` the night, so the subject id is
``sleep-edf-SCss`` (``STss`` for telemetry) and both nights of a person land in the same
split. R&K stages 3 and 4 become N3, "Movement time" Artifact, "Sleep stage ?"
Unscored. The cassette recordings last about 20 h, mostly wake: as usual, only
``wake_margin_min`` (30) minutes of wake before sleep onset and after the last sleep
epoch are kept as labels (null keeps the whole day).

Config entry::

    {"type": "sleep-edf", "root": "data/sleep-edf", "subsets": ["SC"], "wake_margin_min": 30}
"""

from __future__ import annotations

from pathlib import Path

from training.datasets import DatasetError, StudyRef, check_keys, load_file_pair

OPTIONS = ("root", "subsets", "wake_margin_min")
PREFIX = "sleep-edf-"


def subject_of(name: str) -> str:
    """``SC4012E0-PSG.edf`` -> ``sleep-edf-SC01``: characters 3-4 are the subject."""
    return f"{PREFIX}{name[:2].upper()}{name[3:5]}"


def find(source: dict) -> list[StudyRef]:
    check_keys(source, OPTIONS)
    root = Path(source.get("root", "data/sleep-edf"))
    if not root.is_dir():
        raise DatasetError(f"The Sleep-EDF folder {root} does not exist; download "
                           "sleep-edfx from PhysioNet there or fix 'root' in the config.")
    subsets = {s.upper() for s in source.get("subsets", ["SC", "ST"])}
    hyps: dict[str, Path] = {}
    for h in sorted(root.rglob("*-Hypnogram.edf")):
        key = h.name[:7].upper()
        if key in hyps:
            raise DatasetError(f"Two Sleep-EDF hypnograms start with {key}: {hyps[key]} and "
                               f"{h}; remove one.")
        hyps[key] = h
    refs, missing = [], []
    for psg in sorted(root.rglob("*-PSG.edf")):
        if psg.name[:2].upper() not in subsets:
            continue
        hyp = hyps.get(psg.name[:7].upper())
        if hyp is None:
            missing.append(psg.name)
            continue
        refs.append(StudyRef(subject_of(psg.name), source.get("name", "sleep-edf"),
                             "sleep-edf", {"psg": str(psg), "hypnogram": str(hyp),
                                           "study": psg.name[:6],
                                           "wake_margin_min": source.get("wake_margin_min",
                                                                         30)}))
    if missing:
        raise DatasetError(f"{len(missing)} Sleep-EDF recording(s) under {root} have no "
                           f"*-Hypnogram.edf beside them ({', '.join(missing[:5])}); "
                           "download the hypnograms too.")
    if not refs:
        raise DatasetError(f"Found no Sleep-EDF *-PSG.edf files of subsets "
                           f"{', '.join(sorted(subsets))} under {root}.")
    return refs


def load(ref: StudyRef):
    # the hypnogram outlasts the recording (a long "Sleep stage ?" tail): fitting crops it
    return load_file_pair(ref, fmt="edf")
