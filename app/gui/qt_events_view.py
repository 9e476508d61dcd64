"""The events view: flow, effort, SpO2, position and heart rate over 2 or 5 minutes.

Beside the 30-s EEG page, respiratory events are scored on minutes. The view is centred
on the current epoch (shaded), draws every event that falls in its window as a band on
the row it was marked on (on every row when it names none), technician events solid,
detector events lighter with a dashed edge until they are accepted. Drag on a row to
select a stretch; a key (Shift+O obstructive, Shift+C central, Shift+X mixed, Shift+H
hypopnea, Shift+S desaturation, Shift+A arousal, Shift+L limb movement) marks it; click an
event to select it, Delete removes it; Shift+T switches 2 and 5 minutes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.scoring.events import Event, EventSource, EventType
from app.core.workspace import Workspace
from app.gui.event_traces import TIMEBASES, event_rows, read_event_traces
from app.gui.qt_common import ClockAxis, RowLabelAxis, Subscriber
from app.gui.theme import Theme

REFRESH_DELAY_MS = 120

# one hue per family, so a glance tells respiratory from limb from arousal
EVENT_COLORS = {
    EventType.OBSTRUCTIVE_APNEA: "#D62728", EventType.CENTRAL_APNEA: "#9467BD",
    EventType.MIXED_APNEA: "#8C564B", EventType.APNEA: "#B03060",
    EventType.HYPOPNEA: "#FF7F0E",
    EventType.RERA: "#BCBD22", EventType.DESATURATION: "#1F77B4",
    EventType.AROUSAL: "#E377C2", EventType.LIMB_MOVEMENT: "#2CA02C",
    EventType.PLM: "#17BECF", EventType.POSITION_CHANGE: "#7F7F7F",
    EventType.ARTIFACT: "#7F7F7F", EventType.OTHER: "#7F7F7F",
}


class _SelectBox(pg.ViewBox):
    """Left-drag selects a stretch of one row; a click picks the event under it."""

    def __init__(self, view: EventsView) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)
        self._view = view

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        ev.accept()
        a = self.mapSceneToView(ev.buttonDownScenePos())
        b = self.mapSceneToView(ev.scenePos())
        self._view.set_selection(min(a.x(), b.x()), max(a.x(), b.x()), int(a.y()))

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() == Qt.LeftButton:
            p = self.mapSceneToView(ev.scenePos())
            self._view.pick(p.x(), int(p.y()))
            ev.accept()
        else:
            ev.ignore()


class EventsView(QWidget, Subscriber):
    """Respiratory, SpO2, position and heart-rate rows around the current epoch."""

    selection_changed = Signal()

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.rows = event_rows(workspace.recording)
        self.timebase = TIMEBASES[0]
        self.selection: tuple[float, float, int] | None = None  # t0, t1, row
        self.selected_id: int | None = None
        self.title = QLabel()
        self.buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 2, 8, 0)
        bar.addWidget(self.title, 1)
        for sec in TIMEBASES:
            b = QPushButton(f"{sec / 60:g} min")
            b.setCheckable(True)
            b.setChecked(sec == self.timebase)
            b.setFocusPolicy(Qt.NoFocus)
            b.clicked.connect(lambda _=False, s=sec: self.set_timebase(s))
            self.buttons.addButton(b)
            bar.addWidget(b)
        self.vb = _SelectBox(self)
        self.vb.invertY(True)
        self.axis = ClockAxis(workspace.clock, orientation="bottom")
        self.left = RowLabelAxis()
        self.left.setWidth(140)
        self.plot = pg.PlotWidget(viewBox=self.vb, background=theme.background,
                                  axisItems={"bottom": self.axis, "left": self.left})
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        for ax in ("bottom", "left"):
            pi.getAxis(ax).setTextPen(theme.muted)
            pi.getAxis(ax).setPen(theme.grid_major)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        self.current = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(theme.context),
                                           pen=pg.mkPen(theme.foreground, width=1))
        self.current.setZValue(-30)
        self.vb.addItem(self.current)
        self.sel_item = pg.LinearRegionItem((0, 0), movable=False,
                                            brush=pg.mkBrush(QColor(theme.accent).red(),
                                                             QColor(theme.accent).green(),
                                                             QColor(theme.accent).blue(), 60))
        self.sel_item.setVisible(False)
        self.vb.addItem(self.sel_item)
        self.curves = []
        for row in self.rows:
            role = {"spo2": "EEG", "hr": "ECG", "leg": "EMG"}.get(row.kind, "RESP")
            c = pg.PlotCurveItem(pen=pg.mkPen(theme.trace_color(role), width=1),
                                 connect="finite")
            self.vb.addItem(c)
            self.curves.append(c)
        self.event_items: list[tuple[int, QGraphicsRectItem]] = []
        # after page flips pause: the EEG page flips at once, minutes of breathing follow
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._subscribe(workspace.events.epoch, lambda ev: self._timer.start())
        self._subscribe(workspace.events.scored_events, lambda ev: self.draw_events())
        self.refresh()

    # -- window -------------------------------------------------------------------------
    def span(self) -> tuple[float, float]:
        """[t0, t1) seconds shown: the timebase centred on the current epoch."""
        ws = self.ws
        mid = (ws.epoch + 0.5) * ws.epoch_sec
        t0 = max(0.0, mid - self.timebase / 2)
        t1 = min(ws.recording.duration_sec, t0 + self.timebase)
        return max(0.0, t1 - self.timebase), t1

    def set_timebase(self, seconds: float) -> None:
        self.timebase = float(seconds)
        for b in self.buttons.buttons():
            b.setChecked(b.text() == f"{seconds / 60:g} min")
        self.refresh()

    def toggle_timebase(self) -> None:
        i = TIMEBASES.index(self.timebase) if self.timebase in TIMEBASES else 0
        self.set_timebase(TIMEBASES[(i + 1) % len(TIMEBASES)])

    def refresh(self) -> None:
        t0, t1 = self.span()
        ws = self.ws
        onset = ws.epoch * ws.epoch_sec
        self.axis.set_onset(0.0)
        self.current.setRegion((onset, onset + ws.epoch_sec))
        n = max(1, len(self.rows))
        self.vb.setRange(xRange=(t0, t1), yRange=(0, n), padding=0)
        traces = read_event_traces(ws.recording, self.rows, t0, t1,
                                   n_px=max(300, int(self.plot.width())))
        for i, (curve, tr) in enumerate(zip(self.curves, traces)):
            curve.setData(tr.x, i + 0.08 + 0.84 * tr.y)
        self.left.set_rows([tr.row.label for tr in traces],
                           [tr.scale if tr.scale not in ("auto", "flat") else ""
                            for tr in traces], offset=0.5)
        self.title.setText(f"<b>Events</b> · {len(self.rows)} channels · drag on a row to "
                           "select, then Shift+O/C/X/H/S/A/L" if self.rows else
                           "<b>Events</b> · this study has no flow, effort, SpO2 or "
                           "position channel")
        self.draw_events()

    # -- events -------------------------------------------------------------------------
    def visible_events(self) -> list[tuple[int, Event]]:
        t0, t1 = self.span()
        return [(i, e) for i, e in self.ws.events_list if e.overlaps((t0, t1))]

    def draw_events(self) -> None:
        for _, item in self.event_items:
            self.vb.removeItem(item)
        self.event_items = []
        labels = [r.channel for r in self.rows]
        n = max(1, len(self.rows))
        for ev_id, ev in self.visible_events():
            rows = [labels.index(c) for c in ev.channels if c in labels]
            y0, y1 = (min(rows), max(rows) + 1) if rows else (0, n)
            item = QGraphicsRectItem(QRectF(ev.onset, y0, max(ev.duration, 0.5), y1 - y0))
            color = QColor(EVENT_COLORS[ev.type])
            detected = ev.source == EventSource.DETECTOR
            color.setAlpha(45 if detected else 90)
            item.setBrush(color)
            pen = QPen(QColor(EVENT_COLORS[ev.type]), 0)
            pen.setCosmetic(True)
            pen.setWidth(3 if ev_id == self.selected_id else 1)
            if detected:
                pen.setStyle(Qt.DashLine)
            item.setPen(pen)
            item.setToolTip(f"{ev.type.label}, {ev.duration:.1f} s"
                            + (f" (detected, {ev.confidence:.0%})" if detected
                               and ev.confidence is not None else ""))
            item.setZValue(-20)
            self.vb.addItem(item)
            self.event_items.append((ev_id, item))

    # -- selection and marking ------------------------------------------------------------
    def set_selection(self, t0: float, t1: float, row: int) -> None:
        lo, hi = self.span()
        t0, t1 = max(lo, t0), min(hi, t1)
        if t1 - t0 < 0.5:
            self.selection = None
            self.sel_item.setVisible(False)
        else:
            self.selection = (t0, t1, int(np.clip(row, 0, max(0, len(self.rows) - 1))))
            self.sel_item.setRegion((t0, t1))
            self.sel_item.setVisible(True)
        self.selection_changed.emit()

    def pick(self, t: float, row: int) -> int | None:
        """Select the event under (t, row); returns its id."""
        labels = [r.channel for r in self.rows]
        hits = [(i, e) for i, e in self.visible_events() if e.onset <= t <= e.end
                and (not e.channels or any(labels.index(c) == row for c in e.channels
                                           if c in labels))]
        self.selected_id = hits[-1][0] if hits else None
        self.draw_events()
        self.selection_changed.emit()
        return self.selected_id

    def mark(self, kind: EventType) -> Event | None:
        """Score the selected stretch as ``kind`` (on disk before this returns)."""
        if self.selection is None:
            return None
        t0, t1, row = self.selection
        channel = (self.rows[row].channel,) if self.rows and not self.rows[row].derived else ()
        ev = Event(kind, round(t0, 2), round(t1 - t0, 2), channel, EventSource.TECHNICIAN,
                   self.ws.scorer)
        self.ws.add_event(ev)
        self.selection = None
        self.sel_item.setVisible(False)
        return ev

    def delete_selected(self) -> bool:
        if self.selected_id is None:
            return False
        self.ws.delete_event(self.selected_id)
        self.selected_id = None
        return True

