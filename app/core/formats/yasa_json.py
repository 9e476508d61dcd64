"""JSON hypnograms: YASA's ``Hypnogram.to_json`` object and the Dreem integer list.

``yasa-json`` is exactly what ``yasa.Hypnogram.to_json`` writes and ``from_json`` reads::

    {"values": ["WAKE", "N1", ...], "n_stages": 5, "freq": "30s",
     "start": "2022-01-01T23:00:00", "scorer": "S1",
     "proba": {"WAKE": [...], "N1": [...], "N2": [...], "N3": [...], "REM": [...]}}

Reading also accepts ``"hypno"`` instead of ``"values"`` and integer stages in YASA's
convention (0 W .. 4 REM, -1 Artifact, -2 Unscored), and ``proba`` as a list of rows.

``dreem-json`` is a bare list of integers, one per 30-s epoch (-1 not scored, 0 W, 1 N1,
2 N2, 3 N3, 4 REM), as in the Dreem Open Datasets. It has no code for Artifact, so
Artifact is written as -1 (Unscored), and it carries nothing but the stages.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.hypnogram import Hypnogram
>>> p = pathlib.Path(tempfile.mkdtemp()) / "night.json"
>>> write_dreem_json(Hypnogram.from_labels(["W", "Artifact", "REM"]), p)
>>> read_dreem_json(p).labels()
['W', 'Unscored', 'REM']
"""

from __future__ import annotations

import json
import math
import re
import zoneinfo
from pathlib import Path

import numpy as np

from app.core.formats._common import (
    Head,
    check_epoch_sec,
    fname,
    load_json,
    make_hypnogram,
    parse_duration,
    parse_iso,
    to_stage,
    unknown_code,
    write_text_atomic,
)
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import INT_CONVENTIONS, SCORED_STAGES, Stage, stages_to_ints
from app.errors import FormatError

# YASA's canonical upper-case labels (what yasa.Hypnogram stores and writes)
YASA_LABELS = {Stage.W: "WAKE", Stage.N1: "N1", Stage.N2: "N2", Stage.N3: "N3",
               Stage.REM: "REM", Stage.ARTIFACT: "ART", Stage.UNSCORED: "UNS"}


def sniff_yasa_json(head: Head) -> bool:
    text = (head.text or "").lstrip()
    return text.startswith("{") and ('"values"' in text or '"hypno"' in text)


_CODE_LIST = re.compile(r'^\s*\[\s*(-?[0-9]|"|null|\])')


def sniff_dreem_json(head: Head) -> bool:
    """A JSON list whose first item is a number or a label (not a list of objects)."""
    return _CODE_LIST.match(head.text or "") is not None


def _load(path: Path) -> object:
    return load_json(path)


def _codes(path: Path, values: list, convention: str, unknown: str) -> list[int]:
    """Stages from a JSON list of integer codes (in ``convention``) or labels."""
    table = INT_CONVENTIONS[convention]
    out = []
    for i, v in enumerate(values):
        where = f"{fname(path)}, epoch {i + 1}"
        if v is None:
            out.append(int(Stage.UNSCORED))
        elif isinstance(v, str):
            out.append(to_stage(v, unknown, where))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
                and float(v).is_integer():
            stage = table.get(int(v))
            out.append(int(stage) if stage is not None
                       else unknown_code(v, convention, unknown, where))
        else:
            raise FormatError(f"{where}: {json.dumps(v)[:40]} is neither a stage code nor a "
                              "stage label.")
    return out


def read_dreem_json(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
                    ) -> Hypnogram:
    """Read a JSON list of Dreem stage codes (-1 not scored, 0 W .. 4 REM)."""
    path = Path(path)
    data = _load(path)
    if not isinstance(data, list):
        raise FormatError(f"{fname(path)} is a JSON {type(data).__name__}, not the list of "
                          "stage codes a Dreem hypnogram is.")
    stages = _codes(path, data, "dreem", unknown)
    epoch = check_epoch_sec(path, None, epoch_sec, "")
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=[], scorer=path.stem)


def write_dreem_json(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True
                     ) -> None:
    """Write the Dreem integer list; Artifact becomes -1 (the format has no code for it)."""
    stages = np.where(hyp.stages == Stage.ARTIFACT, Stage.UNSCORED, hyp.stages)
    codes = [int(c) for c in stages_to_ints(stages, "dreem")]
    write_text_atomic(Path(path), json.dumps(codes, indent=2) + "\n")


def read_yasa_json(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
                   ) -> Hypnogram:
    """Read a YASA hypnogram JSON object (see the module docstring)."""
    path = Path(path)
    name = fname(path)
    data = _load(path)
    if not isinstance(data, dict):
        raise FormatError(f"{name} is a JSON {type(data).__name__}, not the object with "
                          "'values' that YASA writes.")
    key = "values" if "values" in data else "hypno" if "hypno" in data else None
    if key is None or not isinstance(data[key], list):
        raise FormatError(f"{name}: the JSON object has no 'values' (or 'hypno') list of "
                          "stages.")
    warnings: list[str] = []
    if data.get("n_stages") not in (None, 5):
        warnings.append(f"This is a {data['n_stages']}-stage YASA hypnogram; its labels are "
                        "read as 5-stage labels where they can be.")
    stages = _codes(path, data[key], "yasa", unknown)
    found = None
    if data.get("freq") is not None:
        found = parse_duration(data["freq"])
        if found is None:
            raise FormatError(f"{name}: the epoch length 'freq' = {data['freq']!r} is not a "
                              "duration such as '30s'.")
    epoch = check_epoch_sec(path, found, epoch_sec, "'freq'")
    start = parse_iso(path, data.get("start"), "'start'")
    if start is not None and data.get("tz"):
        try:  # the ISO offset is fixed; the zone name restores DST rules
            start = start.astimezone(zoneinfo.ZoneInfo(str(data["tz"])))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            warnings.append(f"Unknown time zone {data['tz']!r}; kept the UTC offset.")
    scorer = data.get("scorer")
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=warnings, start_time=start,
                          scorer=path.stem if scorer is None else str(scorer),
                          probabilities=_proba(path, data.get("proba"), len(stages)))


def _proba(path: Path, proba: object, n: int) -> np.ndarray | None:
    name = fname(path)
    if proba is None:
        return None
    if isinstance(proba, dict):  # pandas orient="list": {stage label: [p per epoch]}
        cols = {to_stage(k, "raise", f"{name}, proba"): v for k, v in proba.items()}
        missing = [s.label for s in SCORED_STAGES if int(s) not in cols]
        if missing:
            raise FormatError(f"{name}: 'proba' has no column for {', '.join(missing)}.")
        if any(not isinstance(cols[int(s)], list) or len(cols[int(s)]) != n
               for s in SCORED_STAGES):
            raise FormatError(f"{name}: every 'proba' column must list {n} numbers, one "
                              "per epoch.")
        proba = list(zip(*(cols[int(s)] for s in SCORED_STAGES)))
    try:
        arr = np.array(proba, dtype=np.float32)
    except (TypeError, ValueError):
        raise FormatError(f"{name}: 'proba' is not a table of numbers.") from None
    if arr.shape != (n, len(SCORED_STAGES)):
        raise FormatError(f"{name}: 'proba' has shape {arr.shape} but there are {n} epochs "
                          "and 5 stages.")
    return arr


def write_yasa_json(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True
                    ) -> None:
    """Write what ``yasa.Hypnogram.to_json`` writes, so ``from_json`` reads it back."""
    probs = hyp.probabilities if include_probabilities else None
    data = {
        "values": [YASA_LABELS[Stage(int(s))] for s in hyp.stages],
        "n_stages": 5,
        "freq": f"{hyp.epoch_sec:g}s",
        "start": None if hyp.start_time is None else hyp.start_time.isoformat(),
        "scorer": hyp.scorer or None,
        "proba": None if probs is None else {
            YASA_LABELS[s]: [round(float(p), 6) for p in probs[:, i]]
            for i, s in enumerate(SCORED_STAGES)},
    }
    write_text_atomic(Path(path), json.dumps(data, indent=2) + "\n")
