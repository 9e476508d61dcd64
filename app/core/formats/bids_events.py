"""BIDS ``events.tsv`` with its JSON sidecar.

Written: one row per epoch with ``onset``, ``duration``, ``trial_type`` (the stage: W,
N1, N2, N3, REM, Artifact, Unscored) and ``p_W .. p_REM`` when there are probabilities,
plus ``<name>.json`` beside it describing every column (``Levels`` for the stages) and a
``PSGLens`` object with the epoch length, start time and scorer.

Read: rows may be epochs or runs (onset + duration, gaps -> Unscored with a warning,
overlaps -> error). The stage is taken from the first of ``trial_type``, ``value``,
``stage`` whose every value is a stage, mapping codes through the sidecar's ``Levels``
when it describes them (e.g. ``{"1": "Wake", "2": "N1"}``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.core.formats._common import (
    Head,
    StageEvent,
    atomic_paths,
    check_epoch_sec,
    fmt_float,
    fmt_sec,
    fname,
    infer_epoch_sec,
    load_json,
    make_hypnogram,
    parse_iso,
    read_text,
    text_lines,
    to_stage,
)
from app.core.formats._common import events_to_stages as _to_epochs
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import STAGE_LABELS, Stage, UnknownStageError, parse_stage
from app.errors import FormatError

STAGE_CANDIDATES = ("trial_type", "value", "stage", "sleep_stage")
PROB_COLUMNS = tuple(f"p_{lab}" for lab in STAGE_LABELS)
LEVELS = {"W": "Wake", "N1": "Stage N1 sleep", "N2": "Stage N2 sleep",
          "N3": "Stage N3 sleep (slow-wave sleep)", "REM": "REM sleep",
          "Artifact": "Artifact or movement time", "Unscored": "Not scored"}
_NA = ("", "n/a", "na", "nan")


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def sniff_bids(head: Head) -> bool:
    lines = head.data_lines(1)
    if not lines or "\t" not in lines[0]:
        return False
    cols = {c.strip().lower() for c in lines[0].split("\t")}
    return {"onset", "duration"} <= cols


def _load_sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    data = load_json(side, template="{where}, line {line}: the BIDS sidecar is not valid "
                                    "JSON ({msg}).")
    if not isinstance(data, dict):
        raise FormatError(f"{side.name}: the BIDS sidecar must be a JSON object.")
    return data


def _levels(side: dict, column: str) -> dict:
    entry = side.get(column)
    levels = entry.get("Levels") if isinstance(entry, dict) else None
    return {str(k): v for k, v in levels.items()} if isinstance(levels, dict) else {}


def _map(value: str, levels: dict, unknown: str, where: str) -> int:
    if value.lower() in _NA:
        return int(Stage.UNSCORED)
    if value in levels:  # a dataset's own codes ("1": "Wake") come first
        try:
            return int(parse_stage(str(levels[value])))
        except UnknownStageError:
            pass
    return to_stage(value, unknown, where)


def read_bids(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
              ) -> Hypnogram:
    """Read a BIDS events file (and its sidecar when present)."""
    path = Path(path)
    name = fname(path)
    lines = text_lines(read_text(path))
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise FormatError(f"{name} is empty: it has no header line and no events.")
    cols = [c.strip().lower() for c in lines[first].split("\t")]
    for need in ("onset", "duration"):
        if need not in cols:
            raise FormatError(f"{name}, line {first + 1}: there is no {need!r} column, which "
                              "every BIDS events file has.")
    rows = []
    for n in range(first + 1, len(lines)):
        if not lines[n].strip():
            continue
        cells = [c.strip() for c in lines[n].split("\t")]
        if len(cells) != len(cols):
            raise FormatError(f"{name}, line {n + 1}: {len(cells)} fields but the header has "
                              f"{len(cols)}.")
        rows.append((n + 1, dict(zip(cols, cells))))
    if not rows:
        raise FormatError(f"{name} has a header but no events.")
    side = _load_sidecar(path)
    present = [c for c in STAGE_CANDIDATES if c in cols]
    if not present:
        raise FormatError(f"{name}, line {first + 1}: there is no stage column (expected "
                          f"trial_type, value or stage; found {', '.join(cols)}).")
    stages = None
    for c in present:  # the first column that holds nothing but stages
        levels = _levels(side, c)
        try:
            stages = [_map(r[c], levels, "raise", "") for _, r in rows]
            break
        except FormatError:
            continue
    if stages is None:  # report (or map to Unscored) the first column's unknown labels
        c = present[0]
        levels = _levels(side, c)
        stages = [_map(r[c], levels, unknown, f"{name}, line {n}") for n, r in rows]

    events = []
    for (n, r), stage in zip(rows, stages):
        where = f"line {n}"
        try:
            onset = float(r["onset"])
            duration = None if r["duration"].lower() in _NA else float(r["duration"])
        except ValueError:
            raise FormatError(f"{name}, line {n}: onset {r['onset']!r} and duration "
                              f"{r['duration']!r} must be numbers of seconds.") from None
        events.append(StageEvent(onset, duration, stage, where))
    meta_side = side.get("PSGLens") if isinstance(side.get("PSGLens"), dict) else {}
    warnings: list[str] = []
    stated = meta_side.get("EpochLength")
    if isinstance(stated, bool) or not isinstance(stated, (int, float, type(None))):
        raise FormatError(f"{sidecar_path(path).name}: EpochLength {json.dumps(stated)[:40]} "
                          "is not a number of seconds.")
    if stated is None and epoch_sec is None:
        epoch = infer_epoch_sec(path, events, warnings)
    else:
        epoch = check_epoch_sec(path, stated, epoch_sec, "its sidecar (EpochLength)")
    per_epoch = _to_epochs(path, events, epoch, warnings)
    probs = _probabilities(name, rows, cols, events, epoch, len(per_epoch), warnings)
    return make_hypnogram(path, per_epoch, epoch_sec=epoch, warnings=warnings,
                          start_time=parse_iso(path, meta_side.get("StartTime"),
                                               "its sidecar (StartTime)"),
                          scorer=str(meta_side.get("Scorer") or path.stem),
                          probabilities=probs)


def _probabilities(name: str, rows: list, cols: list[str], events: list[StageEvent],
                   epoch: float, n_epochs: int, warnings: list[str]) -> np.ndarray | None:
    keys = [c.lower() for c in PROB_COLUMNS]
    if not all(k in cols for k in keys):
        return None
    one_each = len(rows) == n_epochs and all(
        e.duration is None or abs(e.duration - epoch) < 1e-3 for e in events)
    if not one_each:
        warnings.append("Probability columns were ignored: the rows are not one per epoch.")
        return None
    order = np.argsort([e.onset for e in events], kind="stable")
    probs = np.empty((len(rows), len(keys)), np.float32)
    for out_i, row_i in enumerate(order):
        n, r = rows[row_i]
        try:
            probs[out_i] = [float(r[k]) for k in keys]
        except ValueError:
            raise FormatError(f"{name}, line {n}: the probabilities are not numbers.") \
                from None
    return probs


def write_bids(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True) -> None:
    """Write ``events.tsv`` (one row per epoch) and its JSON sidecar, both or neither."""
    path = Path(path)
    probs = hyp.probabilities if include_probabilities else None
    header = ["onset", "duration", "trial_type"] + (list(PROB_COLUMNS) if probs is not None
                                                    else [])
    out = ["\t".join(header)]
    for i, stage in enumerate(hyp.stages):
        row = [fmt_sec(i * hyp.epoch_sec), fmt_sec(hyp.epoch_sec), Stage(int(stage)).label]
        if probs is not None:
            row += [fmt_float(p) for p in probs[i]]
        out.append("\t".join(row))
    side: dict = {
        "onset": {"Description": "Onset of the epoch from the start of the recording.",
                  "Units": "s"},
        "duration": {"Description": "Length of the epoch.", "Units": "s"},
        "trial_type": {"LongName": "Sleep stage",
                       "Description": "Sleep stage of the epoch (AASM; R&K S3+S4 as N3).",
                       "Levels": LEVELS},
    }
    if probs is not None:
        for lab, col in zip(STAGE_LABELS, PROB_COLUMNS):
            side[col] = {"Description": f"Model probability of stage {lab}.", "Units": "1"}
    side["PSGLens"] = {
        "EpochLength": hyp.epoch_sec,
        "StartTime": None if hyp.start_time is None else hyp.start_time.isoformat(),
        "Scorer": hyp.scorer or None,
    }
    with atomic_paths(path, sidecar_path(path)) as (tmp_tsv, tmp_json):
        tmp_tsv.write_text("\n".join(out) + "\n", encoding="utf-8")
        tmp_json.write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
