"""A lazy EDF/EDF+/BDF reader: parse the header, memory-map the data records.

Why our own instead of mne for these three: a memory map reads only the samples of
the visible window, keeps every channel at its own sampling rate (mne resamples 1-Hz
channels up to 100 Hz), places EDF+D records at their true onsets, and opens an 8-hour
night in milliseconds. Other formats go through mne (see ``recording.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import StudyError, TruncatedStudyError

ANNOT_LABELS = ("EDF Annotations", "BDF Annotations")


@dataclass(frozen=True)
class EdfSignal:
    label: str
    unit: str
    phys_min: float
    phys_max: float
    dig_min: int
    dig_max: int
    prefilter: str
    n_per_record: int
    offset: int  # sample offset of this signal inside one data record

    @property
    def gain(self) -> float:
        return (self.phys_max - self.phys_min) / (self.dig_max - self.dig_min)


class EdfFile:
    """Header and memory-mapped data of one EDF, EDF+ (C or D) or BDF file."""

    def __init__(self, path: str | os.PathLike, *, allow_truncated: bool = False) -> None:
        self.path = Path(path)
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(256)
                if len(head) < 256:
                    raise StudyError(f"{self.path.name} is not an EDF/BDF file: it is only "
                                     f"{size} bytes long.")
                self.is_bdf = head[:1] == b"\xff" and head[1:8] == b"BIOSEMI"
                if not self.is_bdf and head[:8] != b"0       ":
                    raise StudyError(f"{self.path.name} is not an EDF or BDF file (its first "
                                     "bytes are not an EDF header).")
                n_sig = _int(head[252:256], self.path, "number of signals")
                header_bytes = _int(head[184:192], self.path, "header size")
                rest = f.read(256 * n_sig)
        except OSError as err:
            raise StudyError(f"Cannot read {self.path}: {err.strerror or err}.") from err
        if n_sig <= 0 or len(rest) < 256 * n_sig or header_bytes != 256 * (n_sig + 1):
            raise StudyError(f"{self.path.name} has a damaged header (it declares {n_sig} "
                             "signals, which does not match its size).")
        self.header_bytes = header_bytes
        self.patient = head[8:88].decode("latin-1").strip()
        self.recording_id = head[88:168].decode("latin-1").strip()
        self.reserved = head[192:236].decode("latin-1").strip()
        self.is_edfplus = self.reserved.startswith(("EDF+", "BDF+"))
        self.discontinuous = self.reserved.startswith(("EDF+D", "BDF+D"))
        self.start_time = _start_time(head, self.path)
        self.record_sec = _record_sec(head[244:252], self.path)
        n_rec = _int(head[236:244], self.path, "number of data records")
        if n_rec < -1:  # -1 is the spec's "not known yet"; other negatives are damage
            raise StudyError(f"{self.path.name} has a damaged EDF header: the number of data "
                             f"records reads {n_rec}, and only -1 (unknown) may be negative.")
        self.sample_bytes = 3 if self.is_bdf else 2
        self.signals = _signals(rest, n_sig, self.path)
        if self.record_sec == 0 and any(s.label not in ANNOT_LABELS for s in self.signals):
            raise StudyError(f"{self.path.name} has a damaged EDF header: the duration of a "
                             "data record reads 0 s, which only an annotations-only file may "
                             "have.")
        self.record_samples = sum(s.n_per_record for s in self.signals)
        record_bytes = self.record_samples * self.sample_bytes
        available = (size - header_bytes) // record_bytes if record_bytes else 0
        if n_rec < 0:  # -1: the recorder never closed the file; trust its size
            n_rec = available
        self.promised_records = n_rec  # what the header says (or, with -1, the size)
        if available < n_rec:
            if not allow_truncated:
                what = (f"{self.path.name} is truncated: its header promises {n_rec} data "
                        f"records ({n_rec * self.record_sec / 3600:.2f} h) but only "
                        f"{available} are in the file "
                        f"({available * self.record_sec / 3600:.2f} h).")
                raise TruncatedStudyError(
                    f"{what} Copy the complete file again, or read only the part that is "
                    "there: psg-lens score, check and info take --truncated, and the window "
                    "asks before opening it.", promised=n_rec, available=available, what=what)
            n_rec = available
        if n_rec == 0:
            raise StudyError(f"{self.path.name} holds no data records.")
        self.n_records = n_rec
        if self.is_bdf:
            raw = np.memmap(self.path, np.uint8, "r", header_bytes, (n_rec, record_bytes))
        else:
            raw = np.memmap(self.path, "<i2", "r", header_bytes, (n_rec, self.record_samples))
        self._raw = raw
        self._needed = header_bytes + n_rec * record_bytes
        self._stat = os.stat(self.path)
        self.record_onsets = self._record_onsets()

    # -- data -----------------------------------------------------------------------
    def check_unchanged(self) -> None:
        """Raise a sentence if the file shrank or was replaced since it was opened.

        The samples are memory-mapped: reading past the end of a file that shrank (a copy
        still in progress, a sync client rewriting it) would kill the program with SIGBUS
        instead of raising. Growth is fine (a recorder still writing)."""
        try:
            now = os.stat(self.path)
        except OSError as err:
            raise StudyError(f"{self.path.name} can no longer be read ({err.strerror or err}); "
                             "it was moved or deleted while open. Close it and open it "
                             "again.") from err
        then = self._stat
        if now.st_size < self._needed:
            raise StudyError(f"{self.path.name} shrank while it was open ({now.st_size} bytes "
                             f"now, {then.st_size} when opened): a copy may still be in "
                             "progress. Close it and open it again once the file is "
                             "complete; your scoring is kept.")
        if now.st_size == then.st_size and now.st_mtime_ns != then.st_mtime_ns:
            raise StudyError(f"{self.path.name} was changed on disk while it was open (same "
                             "size, new contents). Close it and open it again; your "
                             "scoring is kept, and you will be told if it no longer fits.")

    def read_records(self, sig: int, rec0: int, rec1: int) -> np.ndarray:
        """Physical values of signal ``sig`` in records [rec0, rec1), float64."""
        self.check_unchanged()
        s = self.signals[sig]
        if self.is_bdf:
            b = np.asarray(self._raw[rec0:rec1, 3 * s.offset: 3 * (s.offset + s.n_per_record)])
            b = b.reshape(-1, 3).astype(np.int32)
            digital = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            digital = np.where(digital >= 1 << 23, digital - (1 << 24), digital)
        else:
            digital = np.asarray(self._raw[rec0:rec1, s.offset: s.offset + s.n_per_record])
            digital = digital.reshape(-1)
        return (digital.astype(np.float64) - s.dig_min) * s.gain + s.phys_min

    def annotations(self) -> list[tuple[float, float, str]]:
        """All EDF+ annotations as (onset s from start, duration s, text)."""
        self.check_unchanged()
        out: list[tuple[float, float, str]] = []
        for i in self._annotation_signals():
            s = self.signals[i]
            for rec in range(self.n_records):
                for onset, dur, texts in _parse_tal(self._annotation_bytes(s, rec)):
                    out.extend((onset, dur, t) for t in texts if t)
        return out

    def _annotation_signals(self) -> list[int]:
        return [i for i, s in enumerate(self.signals) if s.label in ANNOT_LABELS]

    def _annotation_bytes(self, s: EdfSignal, rec: int) -> bytes:
        lo, n = s.offset * self.sample_bytes, s.n_per_record * self.sample_bytes
        return self._raw[rec].view(np.uint8)[lo: lo + n].tobytes()

    def _record_onsets(self) -> np.ndarray:
        regular = np.arange(self.n_records) * self.record_sec
        ann = self._annotation_signals()
        if not self.discontinuous or not ann:
            return regular
        # EDF+D: the first TAL of each record holds that record's onset
        s = self.signals[ann[0]]
        onsets = np.empty(self.n_records)
        for rec in range(self.n_records):
            tals = _parse_tal(self._annotation_bytes(s, rec))
            onsets[rec] = tals[0][0] if tals else regular[rec]
        onsets = onsets - onsets[0]
        steps = np.diff(onsets)
        bad = np.flatnonzero(steps < self.record_sec - 1e-3)
        if bad.size:  # records must follow each other, gaps allowed, never overlap
            k = int(bad[0])
            raise StudyError(f"{self.path.name} is a damaged EDF+D file: data record {k + 2} "
                             f"starts at {onsets[k + 1]:g} s, before record {k + 1} (at "
                             f"{onsets[k]:g} s, {self.record_sec:g} s long) has ended.")
        if onsets[-1] > 7 * 86400:
            raise StudyError(f"{self.path.name} is a damaged EDF+D file: its last data record "
                             f"starts {onsets[-1] / 86400:.0f} days after the first.")
        return onsets


def _record_sec(b: bytes, path: Path) -> float:
    text = b.decode("latin-1").strip()
    try:
        sec = float(text or 0)
    except ValueError:
        sec = float("nan")
    if not np.isfinite(sec) or sec < 0:
        raise StudyError(f"{path.name} has a damaged EDF header: the duration of a data record "
                         f"reads {text!r}, not a number of seconds.")
    return sec


def _int(b: bytes, path: Path, what: str) -> int:
    try:
        return int(b.decode("latin-1").strip())
    except ValueError:
        raise StudyError(f"{path.name} has a damaged EDF header (the {what} field reads "
                         f"{b.decode('latin-1')!r}).") from None


def _start_time(head: bytes, path: Path) -> dt.datetime | None:
    d, t = head[168:176].decode("latin-1"), head[176:184].decode("latin-1")
    try:
        day, month, year = (int(x) for x in d.split("."))
        hh, mm, ss = (int(x) for x in t.split("."))
    except ValueError:
        return None
    year += 2000 if year < 85 else 1900  # the EDF spec's Y2K rule
    try:
        return dt.datetime(year, month, day, hh, mm, ss)
    except ValueError:
        return None


def _signals(rest: bytes, n: int, path: Path) -> list[EdfSignal]:
    def fields(start: int, width: int) -> list[str]:
        base = start * n
        return [rest[base + i * width: base + (i + 1) * width].decode("latin-1").strip()
                for i in range(n)]

    labels, _tr = fields(0, 16), fields(16, 80)
    units = fields(96, 8)
    def numbers(start: int, what: str, kind) -> list:
        out = []
        for label, text in zip(labels, fields(start, 8)):
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or not np.isfinite(value):
                raise StudyError(f"{path.name} has a damaged EDF header: the {what} of signal "
                                 f"{label!r} reads {text!r}, not a number.")
            out.append(value)
        return out

    pmin = numbers(104, "physical minimum", float)
    pmax = numbers(112, "physical maximum", float)
    dmin = numbers(120, "digital minimum", int)
    dmax = numbers(128, "digital maximum", int)
    prefilter = fields(136, 80)
    nrec = [_int(x.encode(), path, f"samples per record of signal {lab!r}")
            for lab, x in zip(labels, fields(216, 8))]
    for i in range(n):
        where = f"{path.name} has a damaged EDF header: signal {labels[i]!r}"
        if nrec[i] < 1:
            raise StudyError(f"{where} has {nrec[i]} samples per data record; every signal "
                             "needs at least one.")
        if dmin[i] > dmax[i]:
            raise StudyError(f"{where} has digital minimum {dmin[i]} above its maximum "
                             f"{dmax[i]}.")
        if pmin[i] == pmax[i] and labels[i] not in ANNOT_LABELS:
            raise StudyError(f"{where} has physical minimum equal to its maximum ({pmin[i]:g}), "
                             "so its samples cannot be turned into microvolts.")
    out, offset = [], 0
    for i in range(n):
        if dmax[i] == dmin[i]:
            dmax[i] = dmin[i] + 1  # a degenerate range: avoid dividing by zero
        out.append(EdfSignal(labels[i], units[i], pmin[i], pmax[i], dmin[i], dmax[i],
                             prefilter[i], nrec[i], offset))
        offset += nrec[i]
    return out


_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.S)


def _parse_tal(raw: bytes) -> list[tuple[float, float, list[str]]]:
    out = []
    for m in _TAL.finditer(raw):
        onset = float(m.group(1))
        dur = float(m.group(2)) if m.group(2) else 0.0
        texts = [t.decode("utf-8", "replace") for t in m.group(3).split(b"\x14")]
        out.append((onset, dur, texts))
    return out
