"""Where a command will write, checked before any long work.

A night's scoring that ends in "cannot write" has wasted the night: ``score``, ``report``
and ``synth`` check their output places first, in the first second, and say what to
change. A missing folder is made (as the writers would); a place that cannot be written
is one sentence.

Examples
--------
>>> writable_file("out/night.csv", "the hypnogram")     # doctest: +SKIP
PosixPath('out/night.csv')
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.errors import PSGLensError


def writable_folder(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a folder this process can write into (made if missing)."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise PSGLensError(f"Cannot write {what} into {folder}: it is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".psglens-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise PSGLensError(f"Cannot write {what} into {folder}: {err.strerror or err}. "
                           "Choose a folder you can write to.") from None
    return folder


def writable_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a file this process can create or replace (its folder checked)."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise PSGLensError(f"Cannot write {what} to {out}: it is a folder; give a file name.")
    if out.exists() and not os.access(out, os.W_OK):
        raise PSGLensError(f"Cannot write {what} to {out}: the file is read-only.")
    writable_folder(out.parent if str(out.parent) else Path("."), what)
    return out
