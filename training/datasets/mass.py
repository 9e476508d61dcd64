"""MASS (Montreal Archive of Sleep Studies), as distributed.

Layout: one folder per subset, each night a PSG file and a ``Base`` file of EDF+
annotations ("Sleep stage W/1/2/3/4/R/?")::

    data/mass/SS1/01-01-0001 PSG.edf
    data/mass/SS1/01-01-0001 Base.edf
    data/mass/SS3/01-03-0001 PSG.edf
    data/mass/SS3/01-03-0001 Base.edf

Some subsets are scored in 20-s epochs (R&K), others in 30-s epochs, and the stage
annotations start wherever the scorer's first epoch started, not on a 30-s grid from the
recording start. Each 30-s recording epoch takes the stage covering most of it
(:func:`training.datasets.relabel_by_time`; at least ``min_fraction`` of it, else
Unscored). Subject id: ``mass-`` plus the night's id (one night per subject in MASS).

Config entry::

    {"type": "mass", "root": "data/mass", "subsets": ["SS1", "SS3"]}
"""

from __future__ import annotations

import re
from pathlib import Path

from training.datasets import DatasetError, StudyRef, check_keys, relabel_by_time

OPTIONS = ("root", "subsets", "min_fraction")
PREFIX = "mass-"
_STAGE_TEXT = re.compile(r"^\s*(sleep\s*stage\b|movement\s*time)", re.IGNORECASE)


def find(source: dict) -> list[StudyRef]:
    check_keys(source, OPTIONS)
    root = Path(source.get("root", "data/mass"))
    if not root.is_dir():
        raise DatasetError(f"The MASS folder {root} does not exist; put the MASS subsets "
                           "there or fix 'root' in the config.")
    subsets = source.get("subsets")
    refs, missing = [], []
    for psg in sorted(root.rglob("* PSG.edf")):
        if subsets and not any(s.lower() in (x.lower() for x in psg.relative_to(root).parts)
                               for s in subsets):
            continue
        night = psg.name[: -len(" PSG.edf")]
        base = psg.with_name(f"{night} Base.edf")
        if not base.is_file():
            missing.append(psg.name)
            continue
        refs.append(StudyRef(PREFIX + night, source.get("name", "mass"), "mass",
                             {"psg": str(psg), "hypnogram": str(base), "study": night,
                              "min_fraction": float(source.get("min_fraction", 0.5))}))
    if missing:
        raise DatasetError(f"{len(missing)} MASS recording(s) under {root} have no "
                           f"'<id> Base.edf' annotation file beside them "
                           f"({', '.join(missing[:5])}).")
    if not refs:
        raise DatasetError(f"Found no MASS '<id> PSG.edf' files under {root}.")
    return refs


def stage_events(base: str | Path, shift_sec: float = 0.0) -> list[tuple[float, float, int]]:
    """(onset s, duration s, stage code) of the stage annotations in a Base.edf file."""
    from app.core.scoring.stages import parse_stage
    from app.core.signals.edf_reader import EdfFile

    events = []
    for onset, duration, text in EdfFile(Path(base)).annotations():
        if not _STAGE_TEXT.match(text):
            continue  # arousals, spindles, ...: not stages
        stage = int(parse_stage(text.strip(), unknown="unscored"))
        if duration and duration > 0:
            events.append((onset + shift_sec, float(duration), stage))
    if not events:
        raise DatasetError(f"{Path(base).name} holds no 'Sleep stage ...' annotations.")
    return events


def load(ref: StudyRef):
    from app.core.scoring.hypnogram import Source
    from app.core.signals.edf_reader import EdfFile
    from app.core.signals.recording import Recording

    p = ref.params
    rec = Recording.open(p["psg"])
    base_start = EdfFile(Path(p["hypnogram"])).start_time
    shift = 0.0
    if base_start is not None and rec.start_time is not None:
        shift = (base_start - rec.start_time).total_seconds()
    events = stage_events(p["hypnogram"], shift)
    hyp = relabel_by_time(events, rec.n_epochs, min_fraction=p.get("min_fraction", 0.5),
                          start_time=rec.start_time, scorer=Path(p["hypnogram"]).name,
                          source=Source.IMPORTED)
    return rec, hyp, {"study": p["study"], "psg": p["psg"], "hypnogram": p["hypnogram"],
                      "annotation_epoch_sec": sorted({round(d, 3) for _, d, _ in events})}
