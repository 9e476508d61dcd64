"""Small pieces the widgets share: workspace subscriptions, axes, stage text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.core.scoring.stages import Stage
from app.core.workspace import Emitter, Event


class Subscriber:
    """Connects workspace events and disconnects them all in :meth:`detach`.

    A widget is rebuilt (theme change, new study) while the workspace lives on, so it
    must let go of its callbacks, or the workspace would call into a deleted widget.
    """

    def _subscribe(self, emitter: Emitter, callback: Callable[[Event], None]) -> None:
        subs = self.__dict__.setdefault("_subscriptions", [])
        emitter.connect(callback)
        subs.append((emitter, callback))

    def detach(self) -> None:
        for emitter, callback in self.__dict__.pop("_subscriptions", []):
            emitter.disconnect(callback)
        for child in getattr(self, "_children_to_detach", ()):
            child.detach()


def stage_text(stage: int) -> str:
    return Stage(int(stage)).label if stage is not None else "-"


def chip(stage: int, colors: dict[str, str]) -> str:
    """Rich text: the stage name on its colour (readable on light and dark themes);
    unscored in grey italics, never in Wake's colour."""
    label = Stage(int(stage)).label
    color = colors.get(label, "#888888")
    if int(stage) == Stage.UNSCORED:
        return f'<i style="color:{color}">unscored</i>'
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    text = "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#FFFFFF"
    return f'<b style="background-color:{color}; color:{text}">&nbsp;{label}&nbsp;</b>'


def fmt_clock(when: dt.datetime | None, seconds: float) -> str:
    """HH:MM:SS clock time, or +H:MM:SS elapsed when the start time is unknown."""
    if when is not None:
        return when.strftime("%H:%M:%S")
    s = int(round(seconds))
    return f"+{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ClockAxis(pg.AxisItem):
    """Clock time of ``onset + value`` seconds (trace view's top axis)."""

    def __init__(self, clock: Callable[[float], dt.datetime | None], **kw) -> None:
        super().__init__(orientation=kw.pop("orientation", "top"), **kw)
        self._clock = clock
        self.onset = 0.0

    def set_onset(self, onset: float) -> None:
        if onset != self.onset:
            self.onset = onset
            self.picture = None
            self.update()

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (Qt naming)
        return [fmt_clock(self._clock(self.onset + v), self.onset + v) for v in values]


class SecondsAxis(pg.AxisItem):
    """Seconds from the scored epoch's onset."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [f"{v:g} s" if abs(v) < 1e-9 else f"{v:g}" for v in values]


class EpochClockAxis(pg.AxisItem):
    """Epoch index on the data axis, clock times on the labels, ticks on round times."""

    STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120)

    def __init__(self, epoch_sec: float, start: dt.datetime | None, **kw) -> None:
        super().__init__(orientation=kw.pop("orientation", "bottom"), **kw)
        self.epoch_sec = epoch_sec
        self.start = start
        self._offset = 0.0 if start is None else (start.hour * 3600 + start.minute * 60
                                                  + start.second)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802
        span_min = (maxVal - minVal) * self.epoch_sec / 60
        want = max(2, size / 90)
        step = next((s for s in self.STEPS_MIN if span_min / s <= want), self.STEPS_MIN[-1])
        minor = max(1, step // 5) if step >= 5 else None
        out = []
        for s in (step, minor):
            if s is None:
                continue
            sec = s * 60
            first = np.ceil((minVal * self.epoch_sec + self._offset) / sec) * sec
            t = np.arange(first, maxVal * self.epoch_sec + self._offset + 1e-6, sec)
            out.append((sec / self.epoch_sec, list((t - self._offset) / self.epoch_sec)))
        return out

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            sec = v * self.epoch_sec
            when = None if self.start is None else self.start + dt.timedelta(seconds=sec)
            text = fmt_clock(when, sec)
            out.append(text[:-3] if when is not None else text)
        return out


class RowLabelAxis(pg.AxisItem):
    """Row names on the left, elided in the middle to fit; hovering shows the full name."""

    def __init__(self) -> None:
        super().__init__("left")
        self.full_labels: list[str] = []
        self.setAcceptHoverEvents(True)

    def set_rows(self, labels: list[str], scales: list[str], *, offset: float = 0.0
                 ) -> None:
        """Row ``i``'s name (and scale) at y = i + ``offset``."""
        from PySide6.QtGui import QFontMetrics

        self.full_labels = list(labels)
        self.offset = offset
        metrics = QFontMetrics(self.style.get("tickFont") or self.font())
        # the fixed width, not width(): rows are set before the first layout
        room = max(30, int(getattr(self, "fixedWidth", None) or self.width()) - 8)
        ticks = []
        for i, (label, scale) in enumerate(zip(labels, scales)):
            tail = f"  {scale}" if scale else ""
            fit = max(12, room - metrics.horizontalAdvance(tail))
            ticks.append((i + offset, metrics.elidedText(label, Qt.ElideMiddle, fit) + tail))
        self.setTicks([ticks, []])
        self.shown = [t for _, t in ticks]

    def label_at(self, y: float) -> str:
        """The full name of the row at view coordinate ``y`` ("" between rows' ends)."""
        row = int(round(y - getattr(self, "offset", 0.0)))
        return self.full_labels[row] if 0 <= row < len(self.full_labels) else ""

    def hoverMoveEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        view = self.linkedView()
        if view is not None:
            self.setToolTip(self.label_at(view.mapSceneToView(ev.scenePos()).y()))
