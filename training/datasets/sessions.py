"""Studies scored in PSG Lens: the technician's own work becomes training data.

The app saves each study's scoring in a session file beside it (``night.edf`` ->
``night.edf.psglens``, see :mod:`app.core.scoring.session`). Only epochs a technician set or
confirmed (source TECHNICIAN: an edit, or accepting the model's stage) are labels;
model proposals nobody reviewed, and epochs never scored, become Unscored and are not
trained on. Imported hypnograms count only with ``include_imported: true``.

Config entries::

    {"type": "sessions", "root": "studies/"}              every *.psglens under a folder
    {"type": "sessions", "paths": ["a.edf.psglens", ...]} sessions anywhere (e.g. the
                                                          app data folder)

Options: ``recursive`` (true), ``subject_pattern`` (regex on the study's file name whose
first group is the subject id, e.g. ``"^(P\\\\d+)_"`` so two nights of a patient share a
split; default: the study's name without extension), ``include_imported`` (false),
``accept_changed`` (false: a session whose study file changed since it was scored is
refused, since its epochs may not match the file any more).

The session files are read through a read-only SQLite connection and no lock is taken:
training never writes to a technician's session and works while the app has it open.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import numpy as np

from training.datasets import (
    DatasetError,
    StudyRef,
    check_keys,
    crop_wake,
    fit_to_recording,
    subject_from_name,
)

OPTIONS = ("root", "paths", "recursive", "subject_pattern", "include_imported",
           "accept_changed", "wake_margin_min")
SUFFIX = ".psglens"


class _NoLock:
    """Stands in for the writer's lock: a read-only reader needs none."""

    def release(self) -> None:
        pass


def read_session(path: str | Path):
    """(study identity, technician Hypnogram) of a session file, opened read-only."""
    from app.core.scoring.session import ScoringSession

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"There is no session file {path}.")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                             check_same_thread=False)
    except sqlite3.Error as err:
        raise DatasetError(f"Cannot open the session {path}: {err}.") from err
    try:
        # the app's own replay of the edit log (undo/redo included), without its lock
        session = ScoringSession(path, db, _NoLock(), who="training")
        return session.study, session.technician_hypnogram()
    except (sqlite3.Error, KeyError, ValueError) as err:
        raise DatasetError(f"{path} is not a PSG Lens session file or is damaged ({err}).") \
            from err
    finally:
        db.close()


def study_path(session: Path, stored: str) -> Path:
    """The study a session scores: beside it when there, else the path it stored."""
    beside = session.with_name(session.name[: -len(SUFFIX)])
    return beside if beside.is_file() else Path(stored)


def label_mask(sources: np.ndarray, include_imported: bool) -> np.ndarray:
    """Epochs whose stage a person gave: technician (and, optionally, imported)."""
    from app.core.scoring.hypnogram import Source

    ok = [int(Source.TECHNICIAN)] + ([int(Source.IMPORTED)] if include_imported else [])
    return np.isin(sources, ok)


def _session_files(source: dict) -> list[Path]:
    if bool(source.get("root")) == bool(source.get("paths")):
        raise DatasetError("A 'sessions' dataset source needs either 'root' (a folder of "
                           "studies with their .psglens files) or 'paths' (a list of "
                           ".psglens files), not both.")
    if source.get("paths"):
        return [Path(p) for p in source["paths"]]
    root = Path(source["root"])
    if not root.is_dir():
        raise DatasetError(f"The studies folder {root} does not exist; check 'root'.")
    pattern = f"*{SUFFIX}"
    return sorted(root.rglob(pattern) if source.get("recursive", True) else root.glob(pattern))


def find(source: dict) -> list[StudyRef]:
    from app.core.scoring.study_identity import check_unchanged, identify

    check_keys(source, OPTIONS)
    files = _session_files(source)
    include_imported = bool(source.get("include_imported", False))
    refs, empty = [], []
    for f in files:
        ident, hyp = read_session(f)
        study = study_path(f, ident.path)
        if not study.is_file():
            raise DatasetError(f"The study of session {f} is not at {study}; put the "
                               "recording back beside its session file.")
        if not source.get("accept_changed", False):
            try:
                check_unchanged(ident, identify(study))
            except Exception as err:  # StudyChangedError: a sentence for the user
                raise DatasetError(f"{f}: {err} (set accept_changed: true to train on it "
                                   "anyway).") from err
        if not label_mask(hyp.sources, include_imported).any():
            empty.append(f.name)
            continue
        name = study.name[: -len(study.suffix)] if study.suffix else study.name
        refs.append(StudyRef(subject_from_name(name, source.get("subject_pattern")),
                             source.get("name", "sessions"), "sessions",
                             {"session": str(f), "psg": str(study), "study": name,
                              "include_imported": include_imported,
                              "wake_margin_min": source.get("wake_margin_min")}))
    if empty:
        warnings.warn(f"{len(empty)} session(s) have no epoch set or confirmed by a "
                      f"technician and are left out: {', '.join(empty[:5])}", stacklevel=2)
    if not refs:
        raise DatasetError(f"None of the {len(files)} session file(s) has an epoch a "
                           "technician set or confirmed; score some epochs first.")
    return refs


def load(ref: StudyRef):
    from app.core.signals.recording import Recording

    p = ref.params
    _, hyp = read_session(p["session"])
    keep = label_mask(hyp.sources, p.get("include_imported", False))
    hyp = hyp.copy(stages=np.where(keep, hyp.stages, -1).astype(np.int8),
                   sources=np.where(keep, hyp.sources, 0).astype(np.int8))
    rec = Recording.open(p["psg"])
    # a session's epoch 0 is its study's first epoch, whatever the clock says
    hyp = crop_wake(fit_to_recording(hyp, rec, offset_sec=0.0), p.get("wake_margin_min"))
    return rec, hyp, {"study": p["study"], "psg": p["psg"], "session": p["session"],
                      "n_labelled": int(keep.sum())}

