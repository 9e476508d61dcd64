"""Structured text a user hands PSG Lens, read with a size limit and a nesting limit.

Hypnogram files, render specs and model cards are JSON, XML or tables of a few thousand
lines. A file many times larger, or nested thousands of levels deep (``[[[[...]]]]``,
which makes Python's JSON parser raise RecursionError), is not one of them: it is
refused in one sentence before it is parsed, with the caller's own error class.

- :func:`read_bytes`: the whole file, or an error when it is larger than ``limit``.
- :func:`parse_json` / :func:`load_json_file`: JSON whose nesting is checked first.
- :func:`parse_xml_bytes`: an ElementTree whose nesting is checked while it is built.

The epoch lengths a hypnogram or a render spec may state are here too, so both read
the same range.
"""

from __future__ import annotations

import json
import math
import os
import re
import xml.etree.ElementTree as ET

import numpy as np

from app.errors import PSGLensError

MiB = 1 << 20
#: A night of 30-s epochs with probabilities is well under 1 MiB in any format.
HYPNOGRAM_MAX_BYTES = 64 * MiB
#: Model cards and render specs (a card carries its spec and input-check statistics).
CARD_MAX_BYTES = 1 * MiB
#: Deeper than any hypnogram, card or spec nests; far below Python's recursion limit.
MAX_NESTING = 64
#: Epoch lengths (s) a file may state: AASM 30 s and R&K 20 s, down to 1-s research epochs.
EPOCH_SEC_MIN, EPOCH_SEC_MAX = 1.0, 300.0

_CHUNK = 1 << 22  # the nesting scan walks 4 MiB at a time, so memory stays small
# a JSON string, escapes included (unrolled so a long string is one fast match)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


def size_text(n: int) -> str:
    """``1536`` -> "1.5 KiB"; for messages."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def read_bytes(path: str | os.PathLike, *, limit: int, error: type[PSGLensError],
               where: str, kind: str) -> bytes:
    """The bytes of ``path``; a file over ``limit`` bytes is refused unread.

    ``where`` names the file in messages ("night.csv", "The model card of /b"); ``kind``
    says what it should have been ("a hypnogram file").
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            # read one byte more than allowed: a pipe or a growing file has no honest size
            raw = f.read(limit + 1) if size <= limit else b""
    except IsADirectoryError:
        raise error(f"{where} is a folder, not {kind}.") from None
    except OSError as e:
        raise error(f"Cannot read {where}: {e.strerror or e}.") from None
    if size > limit or len(raw) > limit:
        raise error(f"{where} is {size_text(max(size, len(raw)))}, larger than {kind} can "
                    f"be ({size_text(limit)} at most); check that it is the right file.")
    return raw


def json_too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The line where ``text`` first nests deeper than ``limit`` arrays/objects, or None.

    Brackets inside strings do not count. Vectorised, so a 64-MiB file takes a second,
    not a minute.
    """
    raw = _JSON_STRING.sub('""', text).encode("utf-8", "ignore")
    codes = np.frombuffer(raw, np.uint8)
    depth = 0
    for start in range(0, codes.size, _CHUNK):
        c = codes[start:start + _CHUNK]
        step = ((c == _OPEN[0]) | (c == _OPEN[1])).astype(np.int32) \
            - ((c == _CLOSE[0]) | (c == _CLOSE[1]))
        run = depth + np.cumsum(step, dtype=np.int64)
        over = np.flatnonzero(run > limit)
        if over.size:
            return raw.count(b"\n", 0, start + int(over[0])) + 1
        depth = int(run[-1])
    return None


def parse_json(text: str, *, where: str, error: type[PSGLensError], kind: str,
               limit: int = MAX_NESTING,
               template: str = "{where}, line {line}: not valid JSON ({msg}).") -> object:
    """``json.loads`` that raises ``error`` sentences only.

    ``template`` words a syntax error (``{where}``, ``{line}``, ``{msg}``), so each
    caller keeps its own phrasing.
    """
    line = json_too_deep(text, limit)
    if line is not None:
        raise error(f"{where}, line {line}: the JSON is nested more than {limit} levels "
                    f"deep, which {kind} never is; it was not read.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(template.format(where=where, line=e.lineno, msg=e.msg)) from None
    except (ValueError, RecursionError):  # an integer of more than 4300 digits
        raise error(f"{where} holds a number thousands of digits long, which {kind} never "
                    "does; it was not read.") from None


def load_json_file(path: str | os.PathLike, *, limit: int, error: type[PSGLensError],
                   where: str, kind: str, **kw) -> object:
    """A UTF-8 JSON file through :func:`read_bytes` and :func:`parse_json`."""
    raw = read_bytes(path, limit=limit, error=error, where=where, kind=kind)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise error(f"{where}, line {line}: not UTF-8 text (byte {raw[e.start]:#04x}); "
                    "save it as UTF-8.") from None
    return parse_json(text, where=where, error=error, kind=kind, **kw)


class _TooDeep(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _DepthLimitedBuilder:
    """An ElementTree target that stops at the first element deeper than ``limit``."""

    def __init__(self, limit: int) -> None:
        self._builder = ET.TreeBuilder()
        self._limit = limit
        self._depth = 0

    def start(self, tag: str, attrib: dict) -> ET.Element:
        self._depth += 1
        if self._depth > self._limit:
            raise _TooDeep(tag)
        return self._builder.start(tag, attrib)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> ET.Element:
        return self._builder.close()


def parse_xml_bytes(raw: bytes, *, where: str, error: type[PSGLensError], kind: str,
                    limit: int = MAX_NESTING) -> ET.Element:
    """The root element of ``raw``; nesting deeper than ``limit`` stops the parser there.

    Syntax errors stay ``ET.ParseError`` (with its line), for the caller to word.
    """
    parser = ET.XMLParser(target=_DepthLimitedBuilder(limit))
    try:
        parser.feed(raw)
        return parser.close()
    except _TooDeep as e:
        tag = e.tag.rsplit("}", 1)[-1]
        raise error(f"{where}: the XML nests elements more than {limit} levels deep (at "
                    f"<{tag}>), which {kind} never does; it was not read.") from None


def epoch_sec_problem(value: object) -> str | None:
    """Why ``value`` is no epoch length in seconds, or None when it is a plausible one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return "is not a number of seconds"
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        return "is not a positive number of seconds"
    if not EPOCH_SEC_MIN <= v <= EPOCH_SEC_MAX:
        return (f"is outside {EPOCH_SEC_MIN:g}-{EPOCH_SEC_MAX:g} s, the epoch lengths sleep "
                "is scored in (30 s, 20 s, ...)")
    return None

