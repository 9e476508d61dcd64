"""Project exceptions: each carries one sentence a technician can act on.

The GUI and the CLI show ``str(error)`` as it is, never a traceback.
"""

from __future__ import annotations


class PSGLensError(Exception):
    """Base class for errors a user can cause and fix."""


class StudyError(PSGLensError):
    """A study (PSG file) cannot be read or does not hold what is needed."""


class TruncatedStudyError(StudyError):
    """The file ends before the data records its header promises (a copy cut short, a
    recorder that lost power); its complete part can still be read when asked for."""

    def __init__(self, message: str, *, promised: int, available: int, what: str = "") -> None:
        super().__init__(message)
        self.promised, self.available = promised, available
        self.what = what or message  # the finding alone, without the ways on


class ChannelError(StudyError):
    """A channel is missing, duplicated or of the wrong kind."""


class SpecError(PSGLensError, ValueError):
    """A render spec file is invalid."""


class FormatError(PSGLensError, ValueError):
    """A hypnogram file cannot be read or written in the asked format."""


class ModelError(PSGLensError):
    """A model bundle cannot be loaded or run."""


class SessionError(PSGLensError):
    """A scoring session cannot be opened or saved."""
