"""The whole-night strip: technician hypnogram, faint model line, marks, hypnodensity.

y grows downward (W at the top, N3 lowest, as hypnograms are read); x is the epoch
index with clock-time labels. Unscored epochs have no line and a grey band: an
unscored epoch is never drawn as Wake. Click or drag to jump; the wheel zooms in time;
right- or middle-drag pans.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from app.core.scoring.stages import SCORED_STAGES, Stage
from app.core.workspace import Workspace
from app.gui.qt_common import EpochClockAxis, Subscriber
from app.gui.theme import Theme, hex_rgb

# Row of each stage (clinical order: W, REM, N1, N2, N3 from the top).
LEVEL = {Stage.W: 0, Stage.REM: 1, Stage.N1: 2, Stage.N2: 3, Stage.N3: 4}
ART_Y, LOW_Y, DIS_Y = 5.0, 5.9, 6.5
DENSITY_Y0, DENSITY_H, DENSITY_PX = 7.0, 2.6, 48
MODEL_OFFSET = 0.28


def stage_levels(stages: np.ndarray) -> np.ndarray:
    """Plot level per epoch; NaN for Unscored and Artifact (drawn elsewhere)."""
    lut = np.full(7, np.nan)
    for st, lev in LEVEL.items():
        lut[int(st) + 2] = lev
    return lut[np.asarray(stages, int) + 2]


def step_xy(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-line vertices: epoch e spans [e, e+1] at its level; NaN makes a gap."""
    n = len(levels)
    x = (np.repeat(np.arange(n), 2) + np.tile([0, 1], n)).astype(float)
    return x, np.repeat(levels, 2)


def runs_xy(mask: np.ndarray, y0: float, y1: float | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Segments ('pairs') covering the runs of True in ``mask``: horizontal at y0, or
    one vertical tick per epoch from y0 to y1."""
    idx = np.flatnonzero(mask)
    if y1 is not None:
        x = np.repeat(idx + 0.5, 2)
        return x, np.tile([y0, y1], len(idx))
    if idx.size == 0:
        return np.zeros(0), np.zeros(0)
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts, ends = idx[np.r_[0, breaks]], idx[np.r_[breaks - 1, len(idx) - 1]] + 1
    x = np.column_stack([starts, ends]).ravel().astype(float)
    return x, np.full(len(x), y0)


def density_rgba(probs: np.ndarray, scored: np.ndarray, colors: list[tuple[int, int, int]],
                 height: int = DENSITY_PX) -> np.ndarray:
    """(height, n, 4) uint8: each column stacks the five probabilities (W on top)."""
    cum = np.cumsum(np.nan_to_num(probs, nan=0.0), axis=1)          # (n, 5)
    v = (np.arange(height) + 0.5) / height                          # (H,)
    idx = np.minimum((cum[None, :, :] < v[:, None, None]).sum(-1), 4)  # (H, n)
    lut = np.array([(*c, 255) for c in colors], np.uint8)
    img = lut[idx]
    img[:, ~scored] = 0
    return img


class NightViewBox(pg.ViewBox):
    """The night's time axis: click or drag to jump, right- or middle-drag to pan, the
    wheel zooms in time (the hypnogram's and the spectrogram's)."""

    def __init__(self, on_jump) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)
        self._on_jump = on_jump

    def mouseClickEvent(self, ev):  # noqa: N802 (Qt naming)
        if ev.button() == Qt.LeftButton:
            ev.accept()
            self._on_jump(self.mapSceneToView(ev.scenePos()).x())

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        ev.accept()
        if ev.button() == Qt.LeftButton:
            self._on_jump(self.mapSceneToView(ev.scenePos()).x())
        else:  # pan in time
            dx = self.mapSceneToView(ev.scenePos()).x() - \
                self.mapSceneToView(ev.lastScenePos()).x()
            self.translateBy(x=-dx)

    def wheelEvent(self, ev, axis=None):  # noqa: N802
        super().wheelEvent(ev, axis=0)


class HypnogramView(QWidget, Subscriber):
    """The night at a glance; follows the workspace's epoch, edits and model runs."""

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        n = workspace.n_epochs
        self.vb = NightViewBox(self._jump)
        self.vb.invertY(True)
        axis = EpochClockAxis(workspace.epoch_sec, workspace.recording.start_time)
        self.left_axis = pg.AxisItem("left")
        self.plot = pg.PlotWidget(viewBox=self.vb, background=theme.background,
                                  axisItems={"bottom": axis, "left": self.left_axis})
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        for name in ("bottom", "left"):
            pi.getAxis(name).setTextPen(theme.muted)
            pi.getAxis(name).setPen(theme.grid_major)
        self.left_axis.setWidth(118)
        self.left_axis.setTicks([[(0, "W"), (1, "REM"), (2, "N1"), (3, "N2"), (4, "N3"),
                                  (ART_Y, "Artifact"), (LOW_Y, "Unsure"),
                                  (DIS_Y, "Disagree"),
                                  (DENSITY_Y0 + DENSITY_H / 2, "Hypnodensity")], []])
        self.vb.setLimits(xMin=0, xMax=n, minXRange=min(n, 10))
        self.vb.setRange(xRange=(0, n), yRange=(-0.6, DENSITY_Y0 + DENSITY_H + 0.1),
                         padding=0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self._build_items()
        self._subscribe(workspace.events.epoch, lambda ev: self._update_cursor())
        self._subscribe(workspace.events.view, lambda ev: self._update_cursor())
        self._subscribe(workspace.events.stages, lambda ev: self._update_tech())
        self._subscribe(workspace.events.model, lambda ev: self._update_model())
        self._subscribe(workspace.events.runs, lambda ev: self._update_model())
        lights = getattr(workspace.events, "lights", None)
        if lights is not None:
            self._subscribe(lights, lambda ev: self._update_lights())
        self.refresh()

    def _build_items(self) -> None:
        t = self.theme
        self.unscored = pg.ImageItem(axisOrder="row-major")
        self.unscored.setZValue(-20)
        self.density = pg.ImageItem(axisOrder="row-major")
        fg = QColor(t.foreground)
        self.tech_line = pg.PlotCurveItem(pen=pg.mkPen(fg, width=1), connect="finite")
        muted = QColor(t.muted)
        muted.setAlpha(120)  # faint: the technician's line is the one that counts
        self.model_line = pg.PlotCurveItem(pen=pg.mkPen(muted, width=1), connect="finite")
        # another scorer (an import) beside the technician's line, dashed
        self.other_line = pg.PlotCurveItem(pen=pg.mkPen(t.mark_disagree, width=1,
                                                        style=Qt.DashLine), connect="finite")
        self.other_line.setVisible(False)
        self.stage_segments = {
            st: pg.PlotCurveItem(pen=pg.mkPen(t.stage_color(st), width=5), connect="pairs")
            for st in SCORED_STAGES}
        self.artifact = pg.PlotCurveItem(pen=pg.mkPen(t.stage_color(Stage.ARTIFACT), width=5),
                                         connect="pairs")
        self.low_marks = pg.PlotCurveItem(pen=pg.mkPen(t.mark_low, width=1), connect="pairs")
        self.dis_marks = pg.PlotCurveItem(pen=pg.mkPen(t.mark_disagree, width=1),
                                          connect="pairs")
        accent = QColor(t.accent)
        accent.setAlpha(60)
        self.window_region = pg.LinearRegionItem((0, 1), movable=False, brush=pg.mkBrush(accent),
                                                 pen=pg.mkPen(None))
        self.cursor = pg.InfiniteLine(0.5, angle=90, pen=pg.mkPen(t.accent, width=2))
        # lights off / on: dashed lines with a label; outside them the night is dimmed
        self.lights_lines = [pg.InfiniteLine(0, angle=90, label=text, labelOpts={
            "position": 0.05, "color": t.muted}, pen=pg.mkPen(t.foreground, width=1,
                                                             style=Qt.DashLine))
            for text in ("lights off", "lights on")]
        for line in self.lights_lines:
            line.setVisible(False)
            self.vb.addItem(line)
        for item in (self.unscored, self.window_region, self.density, self.model_line,
                     self.other_line, self.tech_line, *self.stage_segments.values(), self.artifact,
                     self.low_marks, self.dis_marks, self.cursor):
            self.vb.addItem(item)
        self.window_region.setZValue(-10)
        # the night's lines and images change only when stages do: a page flip moves the
        # cursor and repaints these from a pixmap cache
        for item in (self.unscored, self.density, self.model_line, self.tech_line,
                     *self.stage_segments.values(), self.artifact, self.low_marks,
                     self.dis_marks):
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

    # -- updates ------------------------------------------------------------------------
    def refresh(self) -> None:
        self._update_tech()
        self._update_model()
        self._update_cursor()
        self._update_lights()

    def set_overlay(self, hyp) -> None:
        """Draw another scorer's hypnogram (an import) beside the technician's; None
        hides it."""
        if hyp is None or len(hyp.stages) != self.ws.n_epochs:
            self.other_line.setVisible(False)
            self.overlay = None
            return
        self.overlay = hyp
        x, y = step_xy(stage_levels(hyp.stages))
        self.other_line.setData(x, y - MODEL_OFFSET)
        self.other_line.setVisible(True)

    def _update_lights(self) -> None:
        lights = getattr(self.ws, "lights", None)
        marks = (None, None) if lights is None else (lights.off_epoch, lights.on_epoch)
        for line, epoch in zip(self.lights_lines, marks):
            line.setVisible(epoch is not None)
            if epoch is not None:
                line.setValue(float(epoch))

    def _update_tech(self) -> None:
        stages = self.ws.technician.stages
        n = len(stages)
        self.tech_line.setData(*step_xy(stage_levels(stages)))
        for st, item in self.stage_segments.items():
            item.setData(*runs_xy(stages == st, LEVEL[st]))
        self.artifact.setData(*runs_xy(stages == Stage.ARTIFACT, ART_Y))
        band = np.zeros((1, n, 4), np.uint8)
        band[0, stages == Stage.UNSCORED] = (*hex_rgb(self.theme.stage_colors["Unscored"]), 55)
        self.unscored.setImage(band, autoLevels=False)
        self.unscored.setRect(QRectF(0, -0.5, n, 5.0))
        self._update_marks()

    def _update_model(self) -> None:
        model = self.ws.model
        n = self.ws.n_epochs
        if model is None:
            self.model_line.setData([], [])
            self.density.setVisible(False)
        else:
            x, y = step_xy(stage_levels(model.stages) + MODEL_OFFSET)
            self.model_line.setData(x, y)
            colors = [hex_rgb(self.theme.stage_color(s)) for s in SCORED_STAGES]
            img = density_rgba(model.probabilities, model.stages >= 0, colors)
            self.density.setImage(img, autoLevels=False)
            self.density.setRect(QRectF(0, DENSITY_Y0, n, DENSITY_H))
            self.density.setVisible(True)
        self._update_marks()

    def _update_marks(self) -> None:
        low = np.zeros(self.ws.n_epochs, bool)
        low[self.ws.unsure_epochs()] = True  # low confidence, or YASA says otherwise
        dis = np.zeros(self.ws.n_epochs, bool)
        dis[self.ws.disagreement_epochs()] = True
        self.low_marks.setData(*runs_xy(low, LOW_Y - 0.22, LOW_Y + 0.22))
        self.dis_marks.setData(*runs_xy(dis, DIS_Y - 0.22, DIS_Y + 0.22))

    def _update_cursor(self) -> None:
        ws = self.ws
        e = ws.epoch
        t0, t1 = ws.visible_span()
        self.window_region.setRegion((max(0.0, t0 / ws.epoch_sec), t1 / ws.epoch_sec))
        self.cursor.setValue(e + 0.5)
        (x0, x1), _ = self.vb.viewRange()
        if not x0 <= e + 0.5 <= x1:  # keep the cursor in view when zoomed in
            half = (x1 - x0) / 2
            self.vb.setXRange(e + 0.5 - half, e + 0.5 + half, padding=0)

    def _jump(self, x: float) -> None:
        self.ws.set_epoch(int(np.floor(x)))

    def zoom_all(self) -> None:
        self.vb.setXRange(0, self.ws.n_epochs, padding=0)
