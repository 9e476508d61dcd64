"""CSV / TSV: one row per epoch.

Written columns: ``epoch`` (1-based), ``onset_sec``, ``clock_time`` (HH:MM:SS when the
start time is known), ``stage`` (W/N1/N2/N3/REM/Artifact/Unscored), ``source``,
``scorer``, ``confidence``, ``p_W .. p_REM`` (when there are probabilities) and ``note``
(when any epoch has one: e.g. why the model did not stage it), after a
comment line ``# psg-lens hypnogram; epoch_sec=30; start_time=ISO`` that keeps what the
columns cannot. When the probability columns are written and the hypnogram says where
they came from (``meta["probabilities_from"]``, e.g. a technician's scoring with a
model run's probabilities beside it), a second comment line names it:
``# probabilities: run 3, psg-lens-default-tiny/0.3.0, started 2026-01-02 03:04 UTC``;
it is read back into the same key. An Unscored row names no scorer: its ``source`` is
``none`` and its ``scorer`` cell is empty. Reading needs only a stage column (``stage``,
``hypnogram`` or ``label``, any case); every other column is checked when present.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.hypnogram import Hypnogram
>>> p = pathlib.Path(tempfile.mkdtemp()) / "night.csv"
>>> write_table(Hypnogram.from_labels(["W", "N1", "N2"]), p)
>>> read_table(p).labels()
['W', 'N1', 'N2']
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from app.core.formats._common import (
    STAGE_COLUMNS,
    Head,
    check_epoch_sec,
    delimiter_of,
    fmt_float,
    fmt_sec,
    fname,
    from_spreadsheet_safe,
    make_hypnogram,
    numbered_rows,
    parse_iso,
    read_text,
    spreadsheet_safe,
    text_lines,
    to_stage,
    write_text_atomic,
)
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.stages import STAGE_LABELS, Stage
from app.errors import FormatError

MAGIC = "# psg-lens hypnogram"
PROVENANCE = "# probabilities:"  # which model run the p_* columns came from
PROB_COLUMNS = tuple(f"p_{lab}" for lab in STAGE_LABELS)
_SOURCES = {s.label: s for s in Source}


def _stage_column(cols: list[str]) -> int | None:
    for name in STAGE_COLUMNS:
        if name in cols:
            return cols.index(name)
    return None


def _sniff(head: Head, delimiter: str) -> bool:
    lines = head.data_lines(1)
    if not lines:
        return False
    d = delimiter_of(lines[0])
    cols = [c.strip().strip('"').lower() for c in lines[0].split(d)]
    if _stage_column(cols) is None:
        return False
    return len(cols) == 1 or d == delimiter or (delimiter == "," and d == ";")


def sniff_csv(head: Head) -> bool:
    return _sniff(head, ",")


def sniff_tsv(head: Head) -> bool:
    return _sniff(head, "\t")


def _parse_magic(line: str) -> dict[str, str]:
    """``# psg-lens hypnogram; epoch_sec=30; start_time=...`` -> {key: value}."""
    out = {}
    for part in line.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip():
            out[key.strip().lower()] = value.strip()
    return out


def read_table(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
               ) -> Hypnogram:
    """Read a CSV/TSV hypnogram (the delimiter is taken from the header line)."""
    path = Path(path)
    name = fname(path)
    lines = text_lines(read_text(path))
    magic: dict[str, str] = {}
    provenance = ""
    first = 0  # skip blank and comment lines before the header, keeping our metadata line
    while first < len(lines) and (not lines[first].strip()
                                  or lines[first].lstrip().startswith("#")):
        if lines[first].lower().lstrip().startswith(MAGIC):
            magic = _parse_magic(lines[first])
        elif lines[first].lower().lstrip().startswith(PROVENANCE):
            provenance = lines[first].lstrip()[len(PROVENANCE):].strip()
        first += 1
    if first == len(lines):
        raise FormatError(f"{name} is empty: it has no header line and no epochs.")
    numbered = numbered_rows(name, csv.reader(lines[first:], delimiter=delimiter_of(lines[first])),
                         first)
    cols = [c.strip().lower() for c in next(numbered)[1]]
    col = {c: i for i, c in enumerate(cols)}
    stage_i = _stage_column(cols)
    if stage_i is None:
        raise FormatError(f"{name}, line {first + 1}: there is no stage column (expected "
                          f"one named stage, hypnogram or label; found {', '.join(cols)}).")

    rows: list[tuple[int, list[str]]] = []
    for line, row in numbered:
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(cols):
            raise FormatError(f"{name}, line {line}: {len(row)} fields but the header has "
                              f"{len(cols)}; is a label or scorer missing its quotes?")
        rows.append((line, [c.strip() for c in row] + [""] * (len(cols) - len(row))))
    if not rows:
        raise FormatError(f"{name} has a header (line {first + 1}) but no epochs.")

    warnings: list[str] = []
    stages = np.empty(len(rows), np.int8)
    empty = 0
    for i, (line, row) in enumerate(rows):
        if row[stage_i] == "":
            stages[i], empty = Stage.UNSCORED, empty + 1  # a blank cell: nobody scored it
        else:
            stages[i] = to_stage(row[stage_i], unknown, f"{name}, line {line}")
    if empty:
        warnings.append(f"{empty} epochs with an empty stage cell were read as Unscored.")

    if "epoch" in col:
        _check_epoch_numbers(name, rows, col["epoch"])
    found, offset = _epoch_from_onsets(name, rows, col.get("onset_sec"))
    if "epoch_sec" in magic:
        stated = _number(name, magic["epoch_sec"], f"line {first}, epoch_sec")
        if found is not None and not np.isclose(found, stated):
            raise FormatError(f"{name}: the onsets are {found:g} s apart but the header "
                              f"states epoch_sec={stated:g}; the epoch length is "
                              "inconsistent.")
        found = stated
    epoch = check_epoch_sec(path, found, epoch_sec,
                            "its header comment" if "epoch_sec" in magic else "its onsets")
    start = parse_iso(path, magic.get("start_time"), "the header comment")
    meta: dict = {}
    if provenance:
        meta["probabilities_from"] = provenance
    if offset:
        meta["onset_sec"] = offset
        if start is not None:
            start += dt.timedelta(seconds=offset)

    sources = None
    if "source" in col:
        sources = np.empty(len(rows), np.int8)
        for i, (line, row) in enumerate(rows):
            label = row[col["source"]].lower()
            if label == "":
                sources[i] = Source.NONE if stages[i] == Stage.UNSCORED else Source.IMPORTED
            elif label in _SOURCES:
                sources[i] = _SOURCES[label]
            else:
                raise FormatError(f"{name}, line {line}: the source {label!r} is not one of "
                                  f"{', '.join(_SOURCES)}.")
    if "scorer" in col:  # our own files wrote formula-like names with an apostrophe
        for _, row in rows:
            row[col["scorer"]] = from_spreadsheet_safe(row[col["scorer"]])
    scorers = {row[col["scorer"]] for _, row in rows} - {""} if "scorer" in col else set()
    if len(scorers) > 1:
        warnings.append(f"Several scorers in one file ({', '.join(sorted(scorers))}); the "
                        "first is kept.")
    scorer = next((row[col["scorer"]] for _, row in rows if row[col["scorer"]]), "") \
        if scorers else ""
    hyp = make_hypnogram(path, stages, epoch_sec=epoch, warnings=warnings, start_time=start,
                         probabilities=_probabilities(name, rows, col), sources=sources,
                         scorer=scorer, meta=meta)
    if "note" in col:
        hyp.notes = [from_spreadsheet_safe(row[col["note"]]) for _, row in rows]
    return hyp


def _number(name: str, text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{name}, {where}: {text!r} is not a number.") from None


def _check_epoch_numbers(name: str, rows: list[tuple[int, list[str]]], i: int) -> None:
    prev = None
    for line, row in rows:
        if row[i] == "":
            continue
        try:
            n = int(float(row[i]))
        except ValueError:
            raise FormatError(f"{name}, line {line}: the epoch number {row[i]!r} is not a "
                              "whole number.") from None
        if prev is not None and n != prev + 1:
            raise FormatError(f"{name}, line {line}: the epoch numbers jump from {prev} to "
                              f"{n}; every epoch needs one row, in order.")
        prev = n


def _epoch_from_onsets(name: str, rows: list[tuple[int, list[str]]], i: int | None
                       ) -> tuple[float | None, float]:
    """(epoch length from evenly spaced onsets or None, first onset)."""
    if i is None:
        return None, 0.0
    onsets = [(line, _number(name, row[i], f"line {line}")) for line, row in rows
              if row[i] != ""]
    if len(onsets) != len(rows):
        return None, 0.0 if not onsets else onsets[0][1]
    first = onsets[0][1]
    if len(onsets) < 2:
        return None, first
    step = onsets[1][1] - first
    if not step > 0:
        raise FormatError(f"{name}, line {onsets[1][0]}: the onset does not increase; the "
                          "epoch length is inconsistent.")
    for k, (line, onset) in enumerate(onsets):
        if abs(onset - (first + k * step)) > 1e-3:
            raise FormatError(f"{name}, line {line}: onset {onset:g} s breaks the {step:g}-s "
                              "spacing of the rows above; the epoch length is inconsistent.")
    return step, first


def _probabilities(name: str, rows: list[tuple[int, list[str]]], col: dict[str, int]
                   ) -> np.ndarray | None:
    idx = [col.get(c.lower(), col.get("p_r") if c == "p_REM" else None) for c in PROB_COLUMNS]
    if any(i is None for i in idx) or all(row[i] == "" for _, row in rows for i in idx):
        return None
    probs = np.empty((len(rows), len(idx)), np.float32)
    for r, (line, row) in enumerate(rows):
        for c, i in enumerate(idx):
            probs[r, c] = _number(name, row[i], f"line {line}, column {PROB_COLUMNS[c]}")
    return probs


def write_table(hyp: Hypnogram, path: Path, *, delimiter: str = ",",
                include_probabilities: bool = True) -> None:
    """Write one row per epoch (see the module docstring for the columns)."""
    probs = hyp.probabilities if include_probabilities else None
    head = f"{MAGIC}; epoch_sec={hyp.epoch_sec:g}"
    if hyp.start_time is not None:
        head += f"; start_time={hyp.start_time.isoformat()}"
    buf = io.StringIO()
    buf.write(head + "\n")
    origin = str(hyp.meta.get("probabilities_from") or "").strip()
    if probs is not None and origin:  # say whose probabilities these columns are
        buf.write(f"{PROVENANCE} {' '.join(origin.split())}\n")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    header = ["epoch", "onset_sec", "clock_time", "stage", "source", "scorer", "confidence"]
    notes = hyp.notes if hyp.notes is not None and any(hyp.notes) else None
    w.writerow(header + (list(PROB_COLUMNS) if probs is not None else [])
               + (["note"] if notes is not None else []))
    for i in range(hyp.n_epochs):
        w.writerow(_row(hyp, probs, i) + ([spreadsheet_safe(notes[i])] if notes is not None
                                          else []))
    write_text_atomic(Path(path), buf.getvalue())


def _row(hyp: Hypnogram, probs: np.ndarray | None, i: int) -> list[str]:
    onset = i * hyp.epoch_sec
    clock = "" if hyp.start_time is None else \
        (hyp.start_time + dt.timedelta(seconds=onset)).strftime("%H:%M:%S")
    stage = Stage(int(hyp.stages[i]))
    scored = stage != Stage.UNSCORED  # nobody scored it: no source, no scorer
    row = [str(i + 1), fmt_sec(onset), clock, stage.label,
           Source(int(hyp.sources[i])).label if scored else Source.NONE.label,
           spreadsheet_safe(hyp.scorer) if scored else "",
           "" if probs is None else fmt_float(probs[i].max())]
    if probs is not None:
        row += [fmt_float(p) for p in probs[i]]
    return row


def write_tsv(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True) -> None:
    write_table(hyp, path, delimiter="\t", include_probabilities=include_probabilities)


def write_csv(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True,
              delimiter: str = ",") -> None:
    write_table(hyp, path, delimiter=delimiter, include_probabilities=include_probabilities)
