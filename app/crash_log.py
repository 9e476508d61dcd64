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


def log_path() -> Path:
    """The log file (its folder may not exist yet)."""
    return log_dir() / "psg-lens.log"


def log_exception(context: str, exc: BaseException | None = None) -> Path | None:
    """Append the traceback of ``exc`` (default: the exception being handled) to
    ``psg-lens.log``; its path, or None when even the log cannot be written."""
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (traceback.format_exc() if exc is None else
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')} {context}\n")
            f.write(text)
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


def send_logging_to_file() -> Path | None:
    """Route the ``app`` loggers' warnings and tracebacks to ``psg-lens.log`` (once), so a
    worker's ``log.exception`` never prints a traceback on the technician's terminal."""
    import logging

    logger = logging.getLogger("app")
    for handler in logger.handlers:
        if getattr(handler, "_psg_lens_log", False):
            return Path(handler.baseFilename)
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return None
    handler._psg_lens_log = True
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("--- %(asctime)s %(name)s %(levelname)s\n"
                                           "%(message)s"))
    logger.addHandler(handler)
    return path


def stop_logging_to_file() -> None:
    """Undo :func:`send_logging_to_file` (the window has closed)."""
    import logging

    logger = logging.getLogger("app")
    for handler in list(logger.handlers):
        if getattr(handler, "_psg_lens_log", False):
            logger.removeHandler(handler)
            handler.close()
