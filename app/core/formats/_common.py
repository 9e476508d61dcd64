"""Helpers shared by the hypnogram formats.

- :func:`atomic_paths`: write beside the target, then ``os.replace``, so a failed write
  never leaves a half-written file (and never touches an existing one).
- :class:`Head` and :func:`read_text`: the first bytes of a file for sniffing, and text
  decoding that tolerates a BOM, UTF-16 and Windows-1252 exports. Every reader reads
  through :func:`read_raw`, :func:`load_json` or :func:`parse_xml`, so the size and
  nesting limits of :mod:`app.core.files.limits` apply to every format alike.
- :func:`events_to_stages` / :func:`stage_runs`: the one place where (onset, duration,
  stage) events become one stage per epoch (EDF+, NSRR, BIDS), so gaps, overlaps and
  epoch-length checks read the same in every format.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.files.limits import (
    HYPNOGRAM_MAX_BYTES,
    epoch_sec_problem,
    parse_json,
    parse_xml_bytes,
    read_bytes,
)
from app.core.scoring.hypnogram import Hypnogram, HypnogramError
from app.core.scoring.stages import INT_CONVENTIONS, Stage, UnknownStageError, parse_stage
from app.errors import FormatError

HEAD_BYTES = 65536
#: Column names (compared lower-case) that hold the stage in a table.
STAGE_COLUMNS = ("stage", "hypnogram", "label", "sleep_stage", "sleep stage")
#: Epoch lengths we accept when a file does not state its own (AASM 30 s first).
STANDARD_EPOCHS = (30.0, 20.0, 15.0, 10.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
#: Events ending later than this are a corrupt onset or duration, not a long study.
MAX_NIGHT_SEC = 14 * 86400
_TOL_SEC = 1e-3  # onsets are compared to the epoch grid to the millisecond
_MAX_WARNINGS = 20
HYPNOGRAM_KIND = "a hypnogram file"  # what size and nesting messages say it should be


def fname(path: str | os.PathLike) -> str:
    """The file name used in messages (a technician knows the name, not the path)."""
    return Path(path).name or str(path)


# -- reading ------------------------------------------------------------------------------
@dataclass
class Head:
    """The start of a file, for content sniffing."""

    path: Path
    raw: bytes
    text: str | None  # decoded, BOM stripped; None when the bytes are not text

    def data_lines(self, n: int = 5) -> list[str]:
        """The first ``n`` non-empty lines that are not ``#`` comments."""
        if self.text is None:
            return []
        out = []
        for line in text_lines(self.text):
            s = line.strip()
            if s and not s.startswith("#"):
                out.append(s)
                if len(out) == n:
                    break
        return out


_XML_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)",
                         re.DOTALL | re.IGNORECASE)
_XML_TAG = re.compile(r"\s*<([A-Za-z_][\w.\-:]*)")


def xml_root(head: Head) -> str | None:
    """The root element's tag (namespace prefix dropped) of an XML head, else None."""
    text = head.text or ""
    if not text.lstrip().startswith("<"):
        return None
    pos = 0
    while (m := _XML_PROLOG.match(text, pos)) is not None:
        pos = m.end()
    m = _XML_TAG.match(text, pos)
    return m.group(1).rsplit(":", 1)[-1] if m else None


def read_head(path: Path) -> Head:
    try:
        with open(path, "rb") as f:
            raw = f.read(HEAD_BYTES)
    except IsADirectoryError:
        raise FormatError(f"{path} is a folder, not a hypnogram file.") from None
    except OSError as e:
        raise FormatError(f"Cannot open {fname(path)}: {e.strerror or e}.") from None
    return Head(path, raw, _decode(raw, cut=len(raw) == HEAD_BYTES))


def _decode(raw: bytes, *, cut: bool) -> str | None:
    """Text from bytes (UTF-8, UTF-16 with BOM, else Windows-1252), or None for binary."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    elif b"\x00" in raw:
        return None
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            if cut and e.start >= len(raw) - 3:  # the head ends inside one character
                text = raw[: e.start].decode("utf-8-sig", errors="replace")
            else:  # an export from a Windows program
                text = raw.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    odd = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\r\n\f") or c == "\ufffd")
    if odd > max(2, len(sample) // 50):
        return None  # binary junk that happens to decode
    return text


def read_raw(path: Path) -> bytes:
    """The whole file; one over HYPNOGRAM_MAX_BYTES is refused unread."""
    return read_bytes(path, limit=HYPNOGRAM_MAX_BYTES, error=FormatError, where=fname(path),
                      kind=HYPNOGRAM_KIND)


def read_text(path: Path) -> str:
    """The whole file as text, or a FormatError saying it is not text."""
    text = _decode(read_raw(path), cut=False)
    if text is None:
        raise FormatError(f"{fname(path)} is not a text file (it holds binary data).")
    return text


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: only CR, LF and CRLF end a line (``splitlines``
    also splits at form feeds and U+2028, which would shift every line number after)."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load_json(path: Path, where: str | None = None, template: str | None = None) -> object:
    """A JSON hypnogram file (or sidecar): size, nesting and syntax checked, one sentence
    naming the line when it is not JSON."""
    kw = {"template": template} if template else {}
    return parse_json(read_text(path), where=where or fname(path), error=FormatError,
                      kind=HYPNOGRAM_KIND, **kw)


def to_stage(label: str | int, unknown: str, where: str) -> int:
    """One stage code; an unknown label is a FormatError naming ``where``."""
    try:
        return int(parse_stage(label, unknown=unknown, where=where))
    except UnknownStageError as e:
        raise FormatError(str(e)) from None


def unknown_code(code: object, convention: str, unknown: str, where: str) -> int:
    """A stage code the convention does not define: Unscored, or a FormatError."""
    if unknown == "unscored":
        return int(Stage.UNSCORED)
    if unknown != "raise":
        raise ValueError(f"unknown= must be 'raise' or 'unscored', not {unknown!r}")
    codes = ", ".join(str(c) for c in sorted(INT_CONVENTIONS[convention]))
    raise FormatError(f"{where}: the stage code {code!r} is not one of the {convention} codes "
                      f"({codes}); read with unknown='unscored' to keep it as Unscored.")


def make_hypnogram(path: Path, stages: Sequence[int] | np.ndarray, *, epoch_sec: float,
                   warnings: list[str], **kwargs) -> Hypnogram:
    """Build the result, turning a mismatch into a FormatError that names the file."""
    stages = np.asarray(stages, dtype=np.int8)
    if stages.size == 0:
        raise FormatError(f"{fname(path)} holds no sleep stages.")
    kwargs.setdefault("scorer", "")
    meta = kwargs.pop("meta", {})
    if len(warnings) > _MAX_WARNINGS:
        extra = len(warnings) - _MAX_WARNINGS
        warnings = [*warnings[:_MAX_WARNINGS], f"... and {extra} more warnings like these."]
    meta["warnings"] = list(warnings)
    if kwargs.get("probabilities") is not None:
        _check_probabilities(path, np.asarray(kwargs["probabilities"], dtype=np.float64))
    try:
        return Hypnogram(stages, epoch_sec=epoch_sec, meta=meta, **kwargs)
    except HypnogramError as e:
        raise FormatError(f"{fname(path)}: {e}") from None


def _check_probabilities(path: Path, p: np.ndarray) -> None:
    """Stage probabilities read from a file: finite, each in [0, 1], rows summing to 1."""
    if p.ndim != 2 or p.shape[1] != 5:
        return  # the Hypnogram says what shape it wants
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        raise FormatError(f"{fname(path)}: the probabilities of epoch {e + 1} are not all "
                          f"numbers ({', '.join(f'{v:g}' for v in p[e])}).")
    out = ((p < -1e-3) | (p > 1 + 1e-3)).any(axis=1)
    if out.any():
        e = int(np.flatnonzero(out)[0])
        raise FormatError(f"{fname(path)}: a probability of epoch {e + 1} is outside 0-1 "
                          f"({', '.join(f'{v:g}' for v in p[e])}).")
    off = np.abs(p.sum(axis=1) - 1) > 0.02
    if off.any():
        e = int(np.flatnonzero(off)[0])
        raise FormatError(f"{fname(path)}: the probabilities of epoch {e + 1} add up to "
                          f"{p[e].sum():.3g}, not 1.")


def check_epoch_sec(path: Path, found: float | None, asked: float | None, where: str
                    ) -> float:
    """Reconcile the epoch length a file states with the one the caller asked for."""
    if found is not None and (why := epoch_sec_problem(found)) is not None:
        raise FormatError(f"{fname(path)}: the epoch length {_shown(found)} in {where} "
                          f"{why}.")
    if asked is not None and (why := epoch_sec_problem(asked)) is not None:
        raise FormatError(f"The epoch length asked for {fname(path)} must be positive, not "
                          f"{_shown(asked)}." if "positive" in why else
                          f"The epoch length asked for {fname(path)} ({_shown(asked)}) "
                          f"{why}.")
    if found is not None and asked is not None and not np.isclose(found, asked):
        raise FormatError(f"{fname(path)} states {found:g}-s epochs in {where} but "
                          f"{asked:g}-s epochs were asked for; the epoch length is "
                          "inconsistent.")
    return float(found if found is not None else asked if asked is not None else 30.0)


def _shown(value: object) -> str:
    """A stated value as a technician would type it: 0.001, not np.float64(0.001)."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return f"{float(value):g}"
    return repr(value)


def parse_iso(path: Path, text: str | None, where: str) -> dt.datetime | None:
    if text is None or str(text).strip() in ("", "None", "null", "n/a"):
        return None
    s = str(text).strip().replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        raise FormatError(f"{fname(path)}: the start time {text!r} in {where} is not an "
                          "ISO date and time (YYYY-MM-DDTHH:MM:SS).") from None


_XML_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
             (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
             (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
             (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))
_XML_ENCODING = re.compile(r"(<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']")


def xml_as_utf8(raw: bytes) -> bytes:
    """XML in UTF-16 or UTF-32 (with or without a byte-order mark) as UTF-8, its
    declaration's encoding removed, so one parser and one entity check read any file."""
    for mark, enc in _XML_BOMS:
        if raw.startswith(mark):
            text = raw.decode(enc, errors="replace").lstrip("\ufeff")
            return _XML_ENCODING.sub(r"\1", text, count=1).encode("utf-8")
    return raw


def parse_xml(path: Path, roots: dict[str, str]) -> ET.Element:
    """Parse a small XML file whose root must be one of ``roots`` (tag -> format name).

    Entity declarations are refused before parsing: hypnograms never need them, and they
    are how "billion laughs" and external-entity attacks get in.
    """
    name = fname(path)
    raw = xml_as_utf8(read_raw(path))
    if re.search(rb"<!ENTITY", raw, re.IGNORECASE):
        raise FormatError(f"{name} declares XML entities (<!ENTITY>), which are refused for "
                          "safety; remove the DOCTYPE block.")
    try:
        root = parse_xml_bytes(raw, where=name, error=FormatError, kind=HYPNOGRAM_KIND)
    except LookupError as e:  # <?xml encoding="..."?> names no codec we know
        raise FormatError(f"{name}, line 1: the XML declaration names an unknown text "
                          f"encoding ({e}).") from None
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else "?"
        reason = str(e).split(":")[0]  # "mismatched tag: line 2, column 5" -> the reason
        raise FormatError(f"{name}, line {line}: not well-formed XML ({reason}).") from None
    tag = root.tag.rsplit("}", 1)[-1]  # ignore a namespace
    if tag not in roots:
        wanted = " or ".join(f"<{t}> ({f})" for t, f in roots.items())
        raise FormatError(f"{name}: the XML root element is <{tag}>, not {wanted}.")
    return root


# -- events <-> epochs --------------------------------------------------------------------
@dataclass
class StageEvent:
    onset: float
    duration: float | None  # None or 0: a marker, one epoch long
    stage: int
    where: str  # "line 12", "annotation 5", ... for messages


def _whole(x: float, epoch: float) -> bool:
    return abs(x / epoch - round(x / epoch)) * epoch <= _TOL_SEC


def infer_epoch_sec(path: Path, events: Sequence[StageEvent], warnings: list[str]) -> float:
    """30 s when every onset and duration fits 30-s epochs, else a smaller standard length
    that some single event lasts exactly (so one odd 45-s run is an error, not 15-s epochs)."""
    values = [e.onset for e in events] + [e.duration for e in events if e.duration]
    if all(_whole(v, 30.0) for v in values):
        return 30.0
    durations = [e.duration for e in events if e.duration]
    if not durations:
        onsets = sorted({e.onset for e in events})
        durations = [b - a for a, b in zip(onsets, onsets[1:])]
    shortest = min(durations) if durations else 0.0
    for epoch in STANDARD_EPOCHS[1:]:
        if abs(shortest - epoch) <= _TOL_SEC and all(_whole(v, epoch) for v in values):
            warnings.append(f"The epoch length was not stated; {epoch:g}-s epochs were "
                            "inferred from the event durations.")
            return epoch
    bad = next(e for e in events if not _whole(e.onset, 30.0)
               or (e.duration and not _whole(e.duration, 30.0)))
    raise FormatError(
        f"{fname(path)}: the stage at onset {bad.onset:g} s ({bad.where}) lasts "
        f"{bad.duration or 0:g} s, which does not fit 30-s epochs; the epoch length is "
        "inconsistent (pass epoch_sec= if this file uses other epochs).")


def events_to_stages(path: Path, events: Sequence[StageEvent], epoch_sec: float,
                     warnings: list[str]) -> np.ndarray:
    """One stage per epoch from (onset, duration, stage) events on a grid starting at 0.

    Gaps (including before the first event) become Unscored and are reported in
    ``warnings``; an overlap or an event off the epoch grid raises a FormatError.
    """
    name = fname(path)
    parts: list[np.ndarray] = []
    cursor = 0  # next epoch to fill
    for ev in sorted(events, key=lambda e: e.onset):
        if not np.isfinite(ev.onset) or ev.onset < -_TOL_SEC:
            raise FormatError(f"{name}: the stage at onset {ev.onset:g} s ({ev.where}) has "
                              "an onset before the start of the recording.")
        duration = ev.duration if ev.duration else epoch_sec
        if not np.isfinite(duration) or duration < 0:
            raise FormatError(f"{name}: the stage at onset {ev.onset:g} s ({ev.where}) has "
                              f"an invalid duration ({duration:g} s).")
        if not _whole(ev.onset, epoch_sec) or not _whole(duration, epoch_sec):
            raise FormatError(
                f"{name}: the stage at onset {ev.onset:g} s ({ev.where}) lasting "
                f"{duration:g} s does not fit {epoch_sec:g}-s epochs; the epoch length is "
                "inconsistent.")
        if ev.onset + duration > MAX_NIGHT_SEC:
            raise FormatError(
                f"{name}: the stage at onset {ev.onset:g} s ({ev.where}) lasting "
                f"{duration:g} s ends more than {MAX_NIGHT_SEC // 86400} days after the "
                "start; its onset or duration is wrong.")
        start, count = round(ev.onset / epoch_sec), round(duration / epoch_sec)
        if start < cursor:
            raise FormatError(
                f"{name}: the stage at onset {ev.onset:g} s ({ev.where}) overlaps the "
                f"previous stage, which runs until {cursor * epoch_sec:g} s.")
        if start > cursor:
            n = start - cursor
            warnings.append(f"No stage from {cursor * epoch_sec:g} s to {ev.onset:g} s "
                            f"({n} epoch{'s' if n > 1 else ''}); read as Unscored.")
            parts.append(np.full(start - cursor, Stage.UNSCORED, np.int8))
        parts.append(np.full(count, ev.stage, np.int8))
        cursor = start + count
    return np.concatenate(parts) if parts else np.zeros(0, np.int8)


def stage_runs(stages: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal stages as (first epoch, epoch count, stage)."""
    stages = np.asarray(stages)
    if stages.size == 0:
        return []
    edges = np.flatnonzero(np.diff(stages)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [stages.size]])
    return [(int(a), int(b - a), int(stages[a])) for a, b in zip(starts, stops)]


# -- writing ------------------------------------------------------------------------------
def _process_umask() -> int:
    """The umask, read without changing it where the system says it (Linux), else set and
    restored once at import (before any worker thread writes a file)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: New files get 0666 less this, as any program's would (a lab's 027 keeps exports private).
UMASK = _process_umask()


@contextlib.contextmanager
def atomic_paths(*targets: Path) -> Iterator[list[Path]]:
    """Temp paths beside ``targets``; each target is replaced only if the block succeeds.

    Writing in the same folder keeps ``os.replace`` atomic (same file system); on any
    error the temp files are removed and existing targets are left as they were.
    """
    targets = tuple(Path(t) for t in targets)
    temps: list[Path] = []
    try:
        for t in targets:
            if t.is_dir():
                raise FormatError(f"Cannot write {t}: it is a folder.")
            if not t.parent.is_dir():
                raise FormatError(f"Cannot write {t.name}: the folder {t.parent} does not "
                                  "exist.")
            fd, tmp = tempfile.mkstemp(dir=t.parent, prefix=f".{t.name}.", suffix=".tmp")
            os.close(fd)
            temps.append(Path(tmp))
        yield temps
        for tmp, t in zip(temps, targets):
            # mkstemp makes 0600 files; keep an existing file's mode, else what the
            # user's umask gives a new file
            os.chmod(tmp, (t.stat().st_mode & 0o777) if t.exists() else 0o666 & ~UMASK)
            os.replace(tmp, t)
    except OSError as e:
        raise FormatError(f"Cannot write {fname(e.filename or targets[0])}: "
                          f"{e.strerror or e}.") from None
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()


# a spreadsheet runs a cell that starts with one of these as a formula (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A text cell a spreadsheet shows as text: line breaks become spaces (a CR inside a
    cell splits the row for many readers) and formula starts get a leading apostrophe
    (OWASP's advice); :func:`from_spreadsheet_safe` takes the apostrophe off again."""
    text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def from_spreadsheet_safe(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_paths(path) as (tmp,):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)


def fmt_float(x: float) -> str:
    """Shortest text that reads back to the same float32-level value."""
    return f"{float(x):.7g}"


def fmt_sec(x: float) -> str:
    """Seconds to the microsecond, without float noise: 30 -> "30", 0.1*3 -> "0.3"."""
    text = f"{round(float(x), 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


_FREQ = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
          "ms": 1e-3, "l": 1e-3, "min": 60.0, "t": 60.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float) -> float | None:
    """Seconds from "30s", "30S", "1min", "30000ms", "30", or None when unreadable."""
    if isinstance(text, (int, float)):
        return float(text)
    m = _FREQ.match(str(text))
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def delimiter_of(header: str) -> str:
    """The cell delimiter a table's header line uses (tab, semicolon or comma)."""
    if "\t" in header:
        return "\t"
    if ";" in header and "," not in header:  # spreadsheets in comma-decimal locales
        return ";"
    return ","


def numbered_rows(name: str, reader, first: int) -> Iterator[tuple[int, list[str]]]:
    """(file line where the row starts, cells) for each row of ``reader``.

    A quoted cell may span lines, so a row is named by its first line, not by the
    reader's count after it; ``first`` is the 0-based file line the reader starts at.
    """
    while True:
        start = first + reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # a cell over csv's 128-KiB field limit, ...
            raise FormatError(f"{name}, line {start}: the row cannot be read as a table "
                              f"({e}).") from None
        yield start, row
