"""Any folder of PSG files with hypnograms in a format the app reads.

Two ways to say which hypnogram scores which PSG:

* by name, under ``root``: ``night01.edf`` + ``night01.csv`` (or ``night01-hypnogram.edf``,
  ``night01_stages.xml``, ...). Names are compared without their extension, case and a
  trailing tag such as ``-PSG``, ``_hypnogram``, ``_stages``, ``_scoring``, ``_events``;
* by a CSV ``manifest`` with columns ``psg,hypnogram[,subject]`` (paths relative to the
  manifest's folder).

Config entry::

    {"type": "generic", "root": "data/my-lab", "subject_pattern": "^(P\\\\d+)_"}
    {"type": "generic", "manifest": "data/my-lab/pairs.csv"}

Options: ``recursive`` (true), ``subject_pattern`` (a regex whose first group is the
subject id, so two nights of one person share a split; default: the whole name),
``hypnogram_format`` (default: detected), ``epoch_sec`` (for formats that do not
state it), ``offset_sec`` (hypnogram onset minus recording start; default from the
start times), ``wake_margin_min`` (keep only this much wake around sleep; default all).
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

from training.datasets import (
    DatasetError,
    StudyRef,
    check_keys,
    load_file_pair,
    subject_from_name,
)

OPTIONS = ("root", "manifest", "recursive", "subject_pattern", "hypnogram_format",
           "epoch_sec", "offset_sec", "wake_margin_min")
PSG_SUFFIXES = {".edf", ".bdf", ".rec", ".vhdr", ".fif", ".set", ".gdf", ".cnt"}
HYPNOGRAM_SUFFIXES = {".csv", ".tsv", ".txt", ".xml", ".json", ".edf"}
_TAG = re.compile(r"[-_. ](psg|eeg|hypnogram|hypno|stages?|staging|scoring|scores?|labels?|"
                  r"annotations?|events|base)$", re.IGNORECASE)
_BIDS_SIDECAR = re.compile(r"_(eeg|ieeg|meg|events|channels)$", re.IGNORECASE)


def bare_name(path: Path) -> str:
    """The file name without extension and trailing tag (``night02-PSG.edf`` -> ``night02``)."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    if stem.lower().endswith("_events"):  # BIDS: sub-01_task-sleep_events.tsv
        stem = stem[:-7]
    return _TAG.sub("", stem)


def pair_key(path: Path) -> str:
    """The name both files of a pair share: no extension, case or trailing tag."""
    return bare_name(path).lower()


def edf_has_signals(path: Path) -> bool:
    """True for a PSG EDF, False for an annotations-only (hypnogram) EDF+ file."""
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            ns = int(head[252:256].strip() or 0)
        except ValueError:
            return True  # not a header we understand: let the reader say what is wrong
        labels = f.read(16 * ns)
    names = [labels[i * 16:(i + 1) * 16].decode("latin-1").strip() for i in range(ns)]
    return any(n not in ("EDF Annotations", "BDF Annotations") for n in names)


def _classify(files: list[Path]) -> tuple[list[Path], list[Path]]:
    psgs, hyps = [], []
    for p in files:
        ext = p.suffix.lower()
        if ext == ".edf":
            (psgs if edf_has_signals(p) else hyps).append(p)
        elif ext in PSG_SUFFIXES:
            psgs.append(p)
        elif ext == ".json" and _BIDS_SIDECAR.search(p.stem):
            continue  # a BIDS sidecar: the events.tsv reader reads it itself
        elif ext in HYPNOGRAM_SUFFIXES:
            hyps.append(p)
    return psgs, hyps


def match_by_name(root: Path, recursive: bool = True) -> list[tuple[Path, Path]]:
    """(psg, hypnogram) pairs under ``root`` whose names match (see :func:`pair_key`)."""
    if not root.is_dir():
        raise DatasetError(f"The dataset folder {root} does not exist; check 'root' in the "
                           "training config.")
    files = sorted(p for p in (root.rglob("*") if recursive else root.iterdir())
                   if p.is_file() and not p.name.startswith("."))
    psgs, hyps = _classify(files)
    by_key: dict[tuple[Path, str], list[Path]] = {}
    for h in hyps:
        by_key.setdefault((h.parent, pair_key(h)), []).append(h)
    pairs, lonely = [], []
    for p in psgs:
        found = by_key.get((p.parent, pair_key(p)), [])
        if len(found) > 1:
            raise DatasetError(f"{p} matches several hypnograms ({', '.join(f.name for f in found)}); "
                               "keep one, or list the pairs in a CSV manifest.")
        if found:
            pairs.append((p, found[0]))
        else:
            lonely.append(p.name)
    if not pairs:
        raise DatasetError(f"Found no PSG/hypnogram pairs under {root} ({len(psgs)} PSG and "
                           f"{len(hyps)} hypnogram files); name each hypnogram like its PSG "
                           "(night01.edf + night01.csv) or list the pairs in a CSV manifest.")
    if lonely:
        warnings.warn(f"{len(lonely)} PSG file(s) under {root} have no hypnogram and are left "
                      f"out: {', '.join(lonely[:5])}{' ...' if len(lonely) > 5 else ''}",
                      stacklevel=2)
    return pairs


def read_manifest(path: Path) -> list[tuple[Path, Path, str | None]]:
    """(psg, hypnogram, subject or None) rows of a CSV manifest."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise DatasetError(f"Cannot read the manifest {path}: {err.strerror or err}.") from err
    if not rows or not {"psg", "hypnogram"} <= set(rows[0]):
        raise DatasetError(f"The manifest {path} needs a header row with the columns psg and "
                           "hypnogram (and optionally subject).")
    out = []
    for i, r in enumerate(rows, start=2):
        psg, hyp = (path.parent / r["psg"].strip(), path.parent / r["hypnogram"].strip())
        for p in (psg, hyp):
            if not p.is_file():
                raise DatasetError(f"{path}, line {i}: there is no file {p}.")
        out.append((psg, hyp, (r.get("subject") or "").strip() or None))
    return out


def find(source: dict) -> list[StudyRef]:
    check_keys(source, OPTIONS)
    if bool(source.get("root")) == bool(source.get("manifest")):
        raise DatasetError("A 'generic' dataset source needs either 'root' (a folder of "
                           "PSG and hypnogram files) or 'manifest' (a CSV of pairs), not both.")
    if source.get("manifest"):
        rows = read_manifest(Path(source["manifest"]))
    else:
        rows = [(p, h, None) for p, h in match_by_name(Path(source["root"]),
                                                        source.get("recursive", True))]
    name = source.get("name", "generic")
    refs = []
    for psg, hyp, subject in rows:
        subject = subject or subject_from_name(bare_name(psg), source.get("subject_pattern"))
        refs.append(StudyRef(subject, name, "generic", {
            "psg": str(psg), "hypnogram": str(hyp), "study": bare_name(psg),
            **{k: source[k] for k in ("hypnogram_format", "epoch_sec", "offset_sec",
                                      "wake_margin_min") if source.get(k) is not None}}))
    return refs


def load(ref: StudyRef):
    return load_file_pair(ref)
