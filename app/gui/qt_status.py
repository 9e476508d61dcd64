"""Status-bar pieces: the study's position and save state, the model's progress, banners."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber, fmt_clock
from app.gui.theme import Theme


class StudyStatus(QWidget, Subscriber):
    """Epoch n/N, clock time, scorer, scored count and the autosave state."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.epoch_label, self.clock_label = QLabel(), QLabel()
        self.scorer_label, self.saved_label = QLabel(), QLabel()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        for w in (self.epoch_label, self.clock_label, self.scorer_label, self.saved_label):
            lay.addWidget(w)
        self.saved_label.setToolTip("Every edit is written to the session file the moment "
                                    "it is made (SQLite, synchronous); nothing waits for "
                                    "Ctrl+S.")
        self._subscribe(workspace.events.epoch, lambda ev: self._update_position())
        self._subscribe(workspace.events.stages, lambda ev: self._edited())
        self._subscribe(workspace.events.saved, lambda ev: self._update_position())
        self._subscribe(workspace.events.scorer,
                        lambda ev: self.scorer_label.setText(f"Scorer: {ev.who}"))
        self._update_position()
        self.saved_label.setText(f"Autosave on · {workspace.session.path.name}")
        self.scorer_label.setText(f"Scorer: {workspace.scorer}")

    def _update_position(self) -> None:
        ws, e = self.ws, self.ws.epoch
        onset = e * ws.epoch_sec
        n_scored = int((ws.technician.stages != -1).sum())
        self.epoch_label.setText(f"Epoch {e + 1}/{ws.n_epochs}")
        self.clock_label.setText(f"{fmt_clock(ws.clock(onset), onset)}  ·  "
                                 f"scored {n_scored}/{ws.n_epochs}")

    def _edited(self) -> None:
        self._update_position()
        self.saved_label.setText(f"Saved {dt.datetime.now():%H:%M:%S} · "
                                 f"{self.ws.session.path.name}")


class RunProgress(QWidget):
    """The running model: a bar, epochs/s and a Stop button (hidden when idle)."""

    def __init__(self, on_cancel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(True)
        self.rate = QLabel()
        self.stop = QPushButton("Stop")
        self.stop.setFocusPolicy(Qt.NoFocus)
        self.stop.clicked.connect(on_cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Model:"), self.bar, self.rate, self.stop):
            lay.addWidget(w)
        self.setVisible(False)

    def set_progress(self, done: int, total: int, rate: float) -> None:
        if total <= 0:
            self.setVisible(False)
            return
        self.setVisible(True)
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setFormat(f"{done}/{total}")
        self.rate.setText(f"{rate:.1f} epochs/s" if rate > 0 else "loading…")


class Banner(QFrame):
    """A persistent one-line notice above the study (no model; synthetic-only model)."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 10, 5)
        lay.addWidget(self.label, 1)
        self.kind = ""
        self.setVisible(False)

    def set_message(self, kind: str, text: str) -> None:
        self.kind = kind
        if kind in ("", "ok"):
            self.setVisible(False)
            return
        color = self.theme.banner_info if kind == "none" else self.theme.banner_warn
        self.setStyleSheet(f"Banner {{ background: {color}; border-bottom: 1px solid "
                           f"{self.theme.grid_major}; }} QLabel {{ color: "
                           f"{self.theme.foreground}; }}")
        icon = "ⓘ" if kind == "none" else "⚠"
        self.label.setText(f"{icon}  {text}")
        self.setVisible(True)
