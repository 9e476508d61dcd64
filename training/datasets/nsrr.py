"""SHHS and other NSRR cohorts, in the layout the NSRR download tool writes.

Layout: the EDFs under ``edfs/`` and, at the same relative path under
``annotations-events-nsrr/``, one NSRR XML per recording named ``<stem>-nsrr.xml``::

    data/shhs/polysomnography/edfs/shhs1/shhs1-200001.edf
    data/shhs/polysomnography/annotations-events-nsrr/shhs1/shhs1-200001-nsrr.xml
    data/shhs/polysomnography/edfs/shhs2/shhs2-200001.edf
    data/shhs/polysomnography/annotations-events-nsrr/shhs2/shhs2-200001-nsrr.xml

``root`` is the folder holding ``edfs/`` (``polysomnography/`` in the NSRR download).
The subject id is ``<cohort>-`` plus the digits ending the file name, so a participant's
SHHS1 and SHHS2 visits share a split (``shhs-200001``); ``subject_pattern`` overrides
it (its first group). NSRR event times count from the EDF's start and NSRR
de-identifies dates, so the hypnogram is placed at offset 0. Stage 3 and 4 become N3,
``Movement|6`` Artifact, ``Unscored|9`` Unscored.

Config entry::

    {"type": "shhs", "root": "data/shhs/polysomnography", "visits": ["shhs1"]}
"""

from __future__ import annotations

from pathlib import Path

from training.datasets import (
    DatasetError,
    StudyRef,
    check_keys,
    load_file_pair,
    subject_from_name,
)

OPTIONS = ("root", "cohort", "visits", "subject_pattern", "wake_margin_min")
EDF_DIR = "edfs"
XML_DIR = "annotations-events-nsrr"


def find(source: dict) -> list[StudyRef]:
    check_keys(source, OPTIONS)
    root = Path(source.get("root", "data/shhs/polysomnography"))
    if not (root / EDF_DIR).is_dir():
        raise DatasetError(f"{root} has no '{EDF_DIR}' folder; set 'root' to the NSRR "
                           f"folder that holds '{EDF_DIR}/' and '{XML_DIR}/'.")
    cohort = source.get("cohort") or ("shhs" if source.get("type") == "shhs" else None)
    visits = source.get("visits")
    refs, missing = [], []
    for edf in sorted((root / EDF_DIR).rglob("*.edf")):
        rel = edf.relative_to(root / EDF_DIR)
        if visits and rel.parts[0] not in visits:
            continue
        xml = root / XML_DIR / rel.parent / f"{edf.stem}-nsrr.xml"
        if not xml.is_file():
            missing.append(str(rel))
            continue
        prefix = f"{cohort or edf.stem.split('-')[0].rstrip('0123456789')}-"
        subject = subject_from_name(edf.stem, source.get("subject_pattern", r"(\d+)$"), prefix)
        refs.append(StudyRef(subject, source.get("name", cohort or "nsrr"), "nsrr",
                             {"psg": str(edf), "hypnogram": str(xml), "study": edf.stem,
                              "wake_margin_min": source.get("wake_margin_min")}))
    if missing:
        raise DatasetError(f"{len(missing)} EDF file(s) under {root / EDF_DIR} have no "
                           f"{XML_DIR} XML ({', '.join(missing[:3])}); download the "
                           "annotations too, or narrow 'visits'.")
    if not refs:
        raise DatasetError(f"Found no EDF files under {root / EDF_DIR}"
                           f"{' for visits ' + ', '.join(visits) if visits else ''}.")
    return refs


def load(ref: StudyRef):
    # NSRR event times count from the recording's start
    return load_file_pair(ref, fmt="nsrr", offset_sec=0.0)
