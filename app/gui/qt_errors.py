"""Unexpected errors in the window: one sentence and the log's path, never an abort.

Qt calls :data:`sys.excepthook` for an exception that escapes a slot or an event
handler and then carries on; the default hook prints a traceback on the terminal. The
:class:`ErrorReporter` hook writes the traceback to ``psg-lens.log`` instead and shows
one dialog saying what happened and where the details are. Every edit is already in the
session file when the key press returns, so nothing needs saving here; the window stays
usable. Exceptions in other threads (``threading.excepthook``) are marshalled to the GUI
thread through a signal before any widget is touched.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.crash_log import log_exception, unexpected
from app.errors import PSGLensError


class ErrorReporter(QObject):
    """Installs itself as ``sys.excepthook`` (and ``threading.excepthook``).

    ``parent_widget`` returns the window the dialog belongs to (None: no window yet).
    While one dialog is open, later errors go to the log and the count in its text, so a
    handler that fails on every repaint cannot bury the screen in boxes.
    """

    reported = Signal(str)       # the sentence shown (tests and the status bar)
    _from_thread = Signal(str)

    def __init__(self, parent_widget: Callable[[], QWidget | None] = lambda: None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._parent_widget = parent_widget
        self._box = None
        self._more = 0
        self._previous: tuple | None = None
        self._from_thread.connect(self._show)

    def install(self) -> None:
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    # -- hooks --------------------------------------------------------------------------
    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C in the terminal: quit
            from PySide6.QtWidgets import QApplication

            QApplication.quit()
            return
        if isinstance(exc, PSGLensError):  # the user's to fix (a study that shrank): as is
            self._show(str(exc), plain=True)
            return
        self.report(exc if exc is not None else exc_type(), "in the window")

    def _thread_hook(self, args) -> None:
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        name = getattr(args.thread, "name", "a thread")
        text = unexpected(exc, log_exception(f"psg-lens gui ({name})", exc))
        self._from_thread.emit(text)

    def report(self, exc: BaseException, where: str = "in the window") -> str:
        """Log ``exc`` and show its sentence; returns the sentence."""
        text = unexpected(exc, log_exception(f"psg-lens gui ({where})", exc))
        self._show(text)
        return text

    @Slot(str)
    def _show(self, text: str, plain: bool = False) -> None:
        self.reported.emit(text)
        if self._box is not None:
            self._more += 1
            self._box.setInformativeText(
                f"{self._more} more unexpected error(s) since; they are in the same log.")
            return
        from app.gui.dialogs.messages import show_error

        if not plain:
            text = (f"{text[0].upper()}{text[1:]} Your scoring is safe: every edit was saved "
                    "the moment it was made.")
        self._box = show_error(self._parent_widget(), text, "PSG Lens" if plain else
                               "PSG Lens: unexpected error")
        self._box.setObjectName("psglens-unexpected")
        self._box.finished.connect(self._closed)

    def _closed(self, *_: object) -> None:
        self._box = None
        self._more = 0
