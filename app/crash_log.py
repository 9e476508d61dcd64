"""Where a developer-facing traceback goes: a log file, never the technician's screen.

Errors a user can fix are :class:`app.errors.PSGLensError` sentences. Anything else is a
bug: the user sees one sentence with the log's path; the log keeps the traceback.
``PSG_LENS_LOG_DIR`` overrides the folder (tests, portable installs).

Examples
--------
>>> path = log_exception("score night.edf")            # doctest: +SKIP
>>> unexpected("score", err, path)                       # doctest: +SKIP
'an unexpected error (ValueError: ...); the details are in ~/.local/state/psg-lens/log/...'
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

LOG_DIR_ENV = "PSG_LENS_LOG_DIR"


def log_dir() -> Path:
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_log_dir("psg-lens", appauthor=False))


def log_exception(context: str) -> Path | None:
    """Append the current exception's traceback to ``psg-lens.log``; its path, or None
    when even the log cannot be written."""
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "psg-lens.log"
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')} {context}\n")
            f.write(traceback.format_exc())
        return path
    except OSError:
        return None


def unexpected(err: BaseException, path: Path | None) -> str:
    """One sentence for an error that is a bug, not the user's doing."""
    first = (str(err).strip().splitlines() or [""])[0][:200]
    what = f"{type(err).__name__}: {first}" if first else type(err).__name__
    where = f"the details are in {path}" if path else "the log could not be written"
    return (f"an unexpected error stopped it ({what}); {where}. Please report it with that "
            "file.")
