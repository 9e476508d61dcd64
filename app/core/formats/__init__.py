"""Hypnogram files in and out: one module per format, one registry, one way in.

Formats (``FORMATS``): ``csv``, ``tsv`` (one row per epoch), ``edf`` (EDF+ annotations,
Sleep-EDF style), ``nsrr`` (NSRR XML), ``profusion`` (Compumedics XML), ``bids``
(events.tsv + sidecar), ``yasa-json`` (YASA's Hypnogram JSON), ``dreem-json`` (a list of
codes) and ``text`` (one stage a line). Reading detects the format from the content;
writing picks it from the extension. Every problem a user can cause is a
:class:`~app.errors.FormatError` naming the file and the place in it, and a write never
leaves a half-written file behind.
"""

from __future__ import annotations

import inspect
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from app.core.formats._common import fname
from app.core.formats.detect import detect_format, format_for_path
from app.core.formats.registry import FORMATS, FormatSpec
from app.core.scoring.hypnogram import Hypnogram
from app.errors import FormatError, PSGLensError

__all__ = ["FORMATS", "FormatSpec", "detect_format", "format_for_path", "read_hypnogram",
           "write_hypnogram"]


def _get_spec(name: str) -> FormatSpec:
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(f"Unknown hypnogram format {name!r}; known formats: "
                          f"{', '.join(FORMATS)}.") from None


def _check_options(func, opts: dict, name: str) -> None:
    fixed = {"hyp", "path", "unknown", "epoch_sec", "include_probabilities"}
    allowed = [p for p in inspect.signature(func).parameters if p not in fixed]
    extra = sorted(set(opts) - set(allowed))
    if extra:
        takes = ", ".join(allowed) if allowed else "no other options"
        raise FormatError(f"The {name} format has no option {', '.join(extra)}; it takes "
                          f"{takes}.")


def read_hypnogram(path: str | os.PathLike, *, format: str | None = None,
                   unknown: str = "raise", epoch_sec: float | None = None,
                   **opts) -> Hypnogram:
    """Read a hypnogram file in any known format.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        A name from ``FORMATS``; detected from the file's content when omitted.
    unknown : {"raise", "unscored"}
        What a stage label or code the format does not define becomes: a FormatError
        naming the line or epoch, or Unscored.
    epoch_sec : float, optional
        Epoch length, for formats that do not state it (text, Dreem JSON, a minimal CSV).
        A file that states another length raises a FormatError.
    **opts
        Format-specific options (``convention="dreem"`` for integer text files).

    Returns
    -------
    Hypnogram
        With ``meta["format"]``, ``meta["path"]`` and ``meta["warnings"]`` (gaps read as
        Unscored, skipped annotations, header oddities).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from app.core.scoring.hypnogram import Hypnogram
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "night.csv"
    >>> write_hypnogram(Hypnogram.from_labels(["W", "N1", "N2"], scorer="tech-01"), p)
    >>> h = read_hypnogram(p)
    >>> h.labels(), h.scorer, h.meta["format"]
    (['W', 'N1', 'N2'], 'tech-01', 'csv')
    """
    if unknown not in ("raise", "unscored"):
        raise ValueError(f"unknown= must be 'raise' or 'unscored', not {unknown!r}")
    path = Path(path)
    name = format if format is not None else detect_format(path)
    spec = _get_spec(name)
    if not path.is_file():
        raise FormatError(f"{fname(path)} does not exist or is not a file.")
    _check_options(spec.reader, opts, name)
    try:
        hyp = spec.reader(path, unknown=unknown, epoch_sec=epoch_sec, **opts)
    except FormatError:
        raise
    except PSGLensError as e:  # a stage or hypnogram error from the core: same sentence
        raise FormatError(str(e)) from e
    except OSError as e:
        raise FormatError(f"Cannot read {fname(path)}: {e.strerror or e}.") from e
    except (ValueError, KeyError, IndexError, UnicodeError, OverflowError, ET.ParseError) \
            as e:  # a malformed file that slipped past the reader's own checks
        raise FormatError(f"{fname(path)} could not be read as {spec.description}: "
                          f"{e}.") from e
    hyp.meta.setdefault("warnings", [])
    hyp.meta["format"] = name
    hyp.meta["path"] = str(path)
    return hyp


def write_hypnogram(hyp: Hypnogram, path: str | os.PathLike, *, format: str | None = None,
                    include_probabilities: bool = True, **opts) -> None:
    """Write a hypnogram; the target is replaced only once the whole file is written.

    Parameters
    ----------
    hyp : Hypnogram
        What to write.
    path : str or Path
        The target; its extension picks the format when ``format`` is omitted
        (``.csv``, ``.tsv``, ``.edf``, ``.xml`` -> NSRR, ``_events.tsv`` -> BIDS,
        ``.json`` -> YASA JSON, ``.txt``).
    format : str, optional
        A name from ``FORMATS``.
    include_probabilities : bool
        Write the model probabilities where the format can hold them.
    **opts
        Format-specific options: ``labels="str"|"int"`` (text),
        ``labels="sleep-edf"|"aasm"`` (edf), ``delimiter`` (csv).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from app.core.scoring.hypnogram import Hypnogram
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> h = Hypnogram.from_labels(["W", "N2", "N2", "REM"])
    >>> write_hypnogram(h, folder / "night.edf")
    >>> write_hypnogram(h, folder / "night.txt", labels="int")
    >>> read_hypnogram(folder / "night.edf").labels() == h.labels()
    True
    """
    path = Path(path)
    name = format if format is not None else format_for_path(path)
    spec = _get_spec(name)
    _check_options(spec.writer, opts, name)
    try:
        spec.writer(hyp, path, include_probabilities=include_probabilities, **opts)
    except OSError as e:
        raise FormatError(f"Cannot write {fname(path)}: {e.strerror or e}.") from e
