"""Which hypnogram format a file is, from its content first.

Each format's sniffer looks at the first 64 KiB (XML root tag, EDF+ header bytes, JSON
list or object, table header, one-token lines). The extension only breaks ties, and when
nothing matches the error says what the file looked like instead.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "night.dat"
>>> _ = p.write_text("W\\nN1\\nN2\\n")
>>> detect_format(p)
'text'
"""

from __future__ import annotations

import os
from pathlib import Path

from app.core.formats._common import STAGE_COLUMNS, Head, fname, read_head, xml_root
from app.core.formats.registry import FORMATS
from app.errors import FormatError


def _matches_extension(name: str, extensions: tuple[str, ...]) -> bool:
    low = name.lower()
    return any(low.endswith(ext) for ext in extensions)


def detect_format(path: str | os.PathLike) -> str:
    """The registry name of the format of ``path`` (see ``FORMATS``).

    Raises
    ------
    FormatError
        When the file is missing, empty, binary junk, XML with another root, or matches
        no format; the message says which.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{fname(path)} does not exist (looked in {path.parent}).")
    head = read_head(path)
    if not head.raw.strip():
        raise FormatError(f"{fname(path)} is empty.")
    candidates = [name for name, spec in FORMATS.items() if spec.sniff(head)]
    if len(candidates) > 1:
        # several readers would accept it: the extension decides, else registry order
        for name in candidates:
            if _matches_extension(path.name, FORMATS[name].extensions):
                return name
    if candidates:
        return candidates[0]
    raise FormatError(_why_not(head))


def format_for_path(path: str | os.PathLike) -> str:
    """The format to write ``path`` in, from its extension (longest match wins)."""
    name = Path(path).name.lower()
    best, best_len = None, 0
    for fmt, spec in FORMATS.items():  # registry order breaks ties (.json -> yasa-json)
        for ext in spec.extensions:
            if name.endswith(ext) and len(ext) > best_len:
                best, best_len = fmt, len(ext)
    if best is None:
        exts = sorted({e for s in FORMATS.values() for e in s.extensions})
        raise FormatError(f"Cannot tell the format of {Path(path).name} from its extension; "
                          f"use one of {', '.join(exts)} or pass format=.")
    return best


def _why_not(head: Head) -> str:
    name = fname(head.path)
    raw = head.raw
    if raw[:8] == b"0       ":
        return (f"{name} is an EDF file without EDF+ annotations (its header does not say "
                "EDF+C or EDF+D), so it holds no hypnogram; export the stages as EDF+.")
    if raw[:8] == b"\xffBIOSEMI":
        return f"{name} is a BDF recording, not a hypnogram file; export the stages as EDF+."
    if head.text is None:
        return f"{name} is not a hypnogram: it holds binary data that is neither EDF+ nor text."
    text = head.text.lstrip()
    if text.startswith("<"):
        root = xml_root(head)
        if root is None:
            return f"{name} starts like XML but has no root element."
        return (f"{name}: the XML root element is <{root}>, not <PSGAnnotation> (NSRR) or "
                "<CMPStudyConfig> (Compumedics Profusion).")
    if text.startswith("["):
        return (f"{name} is a JSON list, but not of stage codes (a Dreem hypnogram lists "
                "one integer per epoch).")
    if text.startswith("{"):
        if '"trial_type"' in text or '"onset"' in text:
            return (f"{name} looks like a BIDS sidecar; open the events.tsv file next to "
                    "it instead.")
        return (f"{name} is a JSON object without the 'values' (or 'hypno') list of stages "
                "that a YASA hypnogram has.")
    lines = head.data_lines(2)
    if not lines:
        return f"{name} holds only comments or blank lines, no epochs."
    first = lines[0]
    for delim in ("\t", ",", ";"):
        if delim in first:
            cols = [c.strip().strip('"').lower() for c in first.split(delim)]
            if sum(1 for c in cols if c) >= 2 and not any(c in STAGE_COLUMNS for c in cols):
                return (f"{name}, line 1: the table has no stage column (expected one named "
                        f"stage, hypnogram or label; found {', '.join(cols[:8])}).")
    return (f"{name} is not a hypnogram format PSG Lens reads: its first line "
            f"{first[:40]!r} is neither a stage, a table header, JSON nor XML.")
