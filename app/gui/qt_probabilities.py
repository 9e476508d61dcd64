"""Horizontal bar lists: the five stage probabilities, and "what mattered" per channel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.scoring.stages import SCORED_STAGES, STAGE_LABELS
from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber
from app.gui.theme import Theme

ROW_H = 20


class BarList(QWidget):
    """Rows of ``label | bar | value``; ``items`` are (label, value 0..1, colour, bold)."""

    def __init__(self, theme: Theme, *, empty_text: str = "", parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.theme = theme
        self.items: list[tuple[str, float, str, bool]] = []
        self.empty_text = empty_text
        self.label_width = 64
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Minimum)

    def set_items(self, items: list[tuple[str, float, str, bool]]) -> None:
        self.items = list(items)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(240, max(1, len(self.items)) * ROW_H + 4)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, False)
        t = self.theme
        if not self.items:
            p.setPen(QColor(t.muted))
            p.drawText(self.rect().adjusted(4, 0, -4, 0), Qt.AlignLeft | Qt.AlignVCenter,
                       self.empty_text)
            return
        w = self.width()
        value_w = 46
        bar_x = self.label_width + 6
        bar_w = max(10, w - bar_x - value_w - 4)
        font = p.font()
        for i, (label, value, color, bold) in enumerate(self.items):
            y = 2 + i * ROW_H
            f = QFont(font)
            f.setBold(bold)
            p.setFont(f)
            p.setPen(QColor(t.foreground))
            p.drawText(QRectF(2, y, self.label_width, ROW_H), Qt.AlignLeft | Qt.AlignVCenter,
                       label)
            p.fillRect(QRectF(bar_x, y + 4, bar_w, ROW_H - 8), QColor(t.grid_minor))
            v = float(np.clip(np.nan_to_num(value), 0, 1))
            p.fillRect(QRectF(bar_x, y + 4, bar_w * v, ROW_H - 8), QColor(color))
            p.drawText(QRectF(bar_x + bar_w + 4, y, value_w, ROW_H),
                       Qt.AlignRight | Qt.AlignVCenter, f"{v:.0%}")
        p.end()


class ProbabilityBars(BarList, Subscriber):
    """The active model run's five probabilities for the current epoch."""

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None
                 ) -> None:
        super().__init__(theme, empty_text="The model has not scored this epoch.",
                         parent=parent)
        self.ws = workspace
        for emitter in (workspace.events.epoch, workspace.events.model, workspace.events.runs):
            self._subscribe(emitter, lambda ev: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        run, e = self.ws.active_run, self.ws.epoch
        if run is None or run.hypnogram.stages[e] < 0:
            self.set_items([])
            return
        p = run.hypnogram.probabilities[e]
        top = int(np.argmax(p))
        self.set_items([(lab, float(p[i]), self.theme.stage_color(st), i == top)
                        for i, (lab, st) in enumerate(zip(STAGE_LABELS, SCORED_STAGES))])
