"""The trace view: the current epoch's signals, row by row, as a technician reads them.

x is seconds from the scored epoch's onset (so grid, context shading and the heatmap
stay put while pages flip; only the curves' data change), y is the row index (top row
at 0). Each page reads only its window from the file, filters it with the renderer's
AASM filters and peak-decimates it to the plot's pixel width.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from app.core.signals.channels import SLOTS
from app.core.workspace import Workspace
from app.gui.qt_common import (
    ClockAxis,
    RowLabelAxis,
    SecondsAxis,
    Subscriber,
    chip,
    fmt_clock,
)
from app.gui.theme import Theme
from app.gui.trace_data import (
    TraceData,
    heat_rgba,
    montage_trace_rows,
    peak_decimate,
    read_traces,
    scale_rows,
    trace_rows,
)

GAIN_STEP = 1.25
GAIN_RANGE = (0.05, 20.0)


def scale_text(uv: float) -> str:
    """A row's half-height in physical units: '50 µV', '1 mV'."""
    return f"{uv / 1000:.3g} mV" if uv >= 1000 else f"{uv:.3g} µV"


class _TraceViewBox(pg.ViewBox):
    """No panning or zooming with the mouse; the wheel changes a row's gain; a left drag
    measures a wave (duration and peak to peak)."""

    def __init__(self, on_wheel, on_measure=None) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)
        self._on_wheel = on_wheel
        self._on_measure = on_measure

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        pos = self.mapSceneToView(ev.scenePos())
        self._on_wheel(pos.y(), ev.delta(), bool(ev.modifiers() & Qt.ShiftModifier))
        ev.accept()

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        if ev.button() != Qt.LeftButton or self._on_measure is None:
            ev.ignore()
            return
        ev.accept()
        a = self.mapSceneToView(ev.buttonDownScenePos())
        b = self.mapSceneToView(ev.scenePos())
        self._on_measure(a.x(), a.y(), b.x(), b.y(), ev.isFinish())


class TraceView(QWidget, Subscriber):
    """Signals of the current epoch (with context), per-row gain, grid, heatmap behind."""

    def __init__(self, workspace: Workspace, theme: Theme, *, heat_opacity: float = 0.5,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.heat_visible = True
        self.header = QLabel()
        self.header.setTextFormat(Qt.RichText)
        self.header.setContentsMargins(8, 4, 8, 2)
        self.vb = _TraceViewBox(self._wheel, self._measure_drag)
        self.vb.invertY(True)
        self.top_axis = ClockAxis(workspace.clock, orientation="top")
        self.left_axis = RowLabelAxis()
        self.plot = pg.PlotWidget(viewBox=self.vb, background=theme.background, axisItems={
            "top": self.top_axis, "bottom": SecondsAxis("bottom"), "left": self.left_axis})
        pi = self.plot.getPlotItem()
        pi.showAxis("top")
        pi.hideButtons()
        pi.setMenuEnabled(False)
        for ax in ("top", "bottom", "left"):
            pi.getAxis(ax).setTextPen(theme.muted)
            pi.getAxis(ax).setPen(theme.grid_major)
        self.left_axis.setWidth(140)  # "EEG C4-M1  50 µV" and most derivations whole
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.plot, 1)
        self._build_static_items()
        self.heat.setOpacity(heat_opacity)
        self._subscribe(workspace.events.epoch, lambda ev: self.refresh())
        self._subscribe(workspace.events.stages, lambda ev: self._update_header())
        self._subscribe(workspace.events.model, lambda ev: self._update_header())
        self._subscribe(workspace.events.runs, lambda ev: (self._update_header(),
                                                           self._update_heat()))
        self._subscribe(workspace.events.view, lambda ev: self.rebuild())
        self._subscribe(workspace.events.channel_map, lambda ev: self.rebuild())
        montage = getattr(workspace.events, "montage", None)
        if montage is not None:
            self._subscribe(montage, lambda ev: self.rebuild())
        self._subscribe(workspace.events.explanation, lambda ev: self._update_heat())
        self.rebuild()

    # -- construction -------------------------------------------------------------------
    def _build_static_items(self) -> None:
        t = self.theme
        self.context_items = [pg.LinearRegionItem((0, 0), movable=False,
                                                   brush=pg.mkBrush(t.context),
                                                   pen=pg.mkPen(None)) for _ in range(2)]
        for item in self.context_items:
            item.setZValue(-30)
            self.vb.addItem(item)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setZValue(-20)
        self.vb.addItem(self.heat)
        self.grid_minor = pg.PlotCurveItem(pen=pg.mkPen(t.grid_minor), connect="pairs")
        self.grid_major = pg.PlotCurveItem(pen=pg.mkPen(t.grid_major), connect="pairs")
        self.epoch_lines = pg.PlotCurveItem(pen=pg.mkPen(t.muted, width=1.5), connect="pairs")
        # the scored epoch's bounds in the text colour: in a 5-min page of ten epochs
        # (dark theme above all) the context shading alone does not show which one it
        # is, and the accent is as blue as the EEG
        self.current_lines = pg.PlotCurveItem(pen=pg.mkPen(t.foreground, width=2),
                                              connect="pairs")
        for z, item in enumerate((self.grid_minor, self.grid_major, self.epoch_lines)):
            item.setZValue(-12 + z)
            self.vb.addItem(item)
        self.current_lines.setZValue(5)  # over the traces: dense 5-min traces hide the rest
        self.vb.addItem(self.current_lines)
        # x is relative to the epoch's onset, so these do not change when pages flip:
        # repaint them from a pixmap cache
        for item in (self.heat, self.grid_minor, self.grid_major, self.epoch_lines,
                     self.current_lines):
            item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.curves: list[pg.PlotCurveItem] = []
        self.measure_line = pg.PlotCurveItem(pen=pg.mkPen(t.accent, width=1.5,
                                                           style=Qt.DashLine))
        self.measure_text = pg.TextItem(color=t.foreground, fill=pg.mkBrush(t.panel),
                                        anchor=(0, 1))
        for item in (self.measure_line, self.measure_text):
            item.setZValue(10)
            item.setVisible(False)
            self.vb.addItem(item)
        self.last_measurement = None

    def rebuild(self) -> None:
        """Rows, grid and ranges changed (mapping, window, context): redo them, redraw."""
        # the technician's own montage when there is one, else the AASM slots then the rest
        self.use_montage = bool(getattr(self.ws, "has_own_montage", False))
        self.montage_notes = (self.ws.montage_differences() if self.use_montage
                              and hasattr(self.ws, "montage_differences") else [])
        self.header.setToolTip("\n".join(self.montage_notes))
        self.rows = (montage_trace_rows(self.ws.montage) if self.use_montage else
                     trace_rows(self.ws.recording, self.ws.slot_sources()))
        stored = self.ws.view.gains  # restored with the view when the study reopens
        self.gains = np.array([stored.get(r.label, 1.0) for r in self.rows], float)
        for c in self.curves:
            self.vb.removeItem(c)
        self.curves = []
        for row in self.rows:
            c = pg.PlotCurveItem(pen=pg.mkPen(self.theme.trace_color(row.role), width=1),
                                 connect="finite")
            self.vb.addItem(c)
            self.curves.append(c)
        self._apply_paper_scale()
        self._update_axis_labels()
        rel0, rel1 = self._rel_span()
        n = max(1, len(self.rows))
        self.vb.setRange(xRange=(rel0, rel1), yRange=(-0.6, n - 0.4), padding=0)
        self._build_grid(rel0, rel1, n)
        self.refresh()

    def _rel_span(self) -> tuple[float, float]:
        t0, t1 = self.ws.visible_span()
        onset = self.ws.epoch * self.ws.epoch_sec
        return t0 - onset, t1 - onset

    def _build_grid(self, rel0: float, rel1: float, n: int) -> None:
        px_per_sec = max(1.0, self.plot.width()) / max(1e-9, rel1 - rel0)
        y0, y1 = -0.6, n - 0.4

        def lines(period: float, skip: float | None = None) -> tuple[np.ndarray, np.ndarray]:
            xs = np.arange(np.ceil(rel0 / period) * period, rel1 + 1e-9, period)
            if skip:
                xs = xs[np.abs((xs / skip) - np.round(xs / skip)) > 1e-9]
            return np.repeat(xs, 2), np.tile([y0, y1], len(xs))

        ep = self.ws.epoch_sec
        minor = 1.0 if px_per_sec * 1.0 >= 4 else None
        major = 5.0 if px_per_sec * 5.0 >= 6 else 30.0
        if minor:
            self.grid_minor.setData(*lines(minor, major))
        else:
            self.grid_minor.setData([], [])
        self.grid_major.setData(*lines(major, ep))
        self.epoch_lines.setData(*lines(ep))
        if rel1 - rel0 > ep + 1e-6:
            self.current_lines.setData([0.0, 0.0, ep, ep], [y0, y1, y0, y1])
        else:
            self.current_lines.setData([], [])
        self.context_items[0].setRegion((rel0, 0.0))
        self.context_items[1].setRegion((ep, rel1))

    def _update_axis_labels(self) -> None:
        self.left_axis.set_rows([row.label for row in self.rows],
                                [scale_text(row.full_scale_uv / g) if row.full_scale_uv
                                 else "" for row, g in zip(self.rows, self.gains)])

    # -- drawing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the traces for the current epoch (the page-flip path)."""
        ws = self.ws
        self.measure_line.setVisible(False)  # a measurement belongs to its page
        self.measure_text.setVisible(False)
        t0, t1 = ws.visible_span()
        onset = ws.epoch * ws.epoch_sec
        if self.use_montage:
            self.traces = [TraceData(row, sig.t0, sig.sfreq, sig.data) for row, sig in
                           zip(self.rows, ws.read_montage(t0, t1))]
        else:
            self.traces = read_traces(ws.recording, self.rows, t0, t1,
                                      filters=ws.view.filters)
        self._draw_curves(t0 - onset)
        self.top_axis.set_onset(onset)
        self._update_heat()
        self._update_header()

    def _draw_curves(self, rel0: float) -> None:
        n_px = max(200, int(self.plot.width()))
        for i, (curve, tr, y) in enumerate(zip(self.curves, self.traces,
                                               scale_rows(self.traces, self.gains))):
            pos, vals = peak_decimate(y, n_px)
            curve.setData(rel0 + pos / tr.sfreq, i - vals)

    def _update_header(self) -> None:
        ws, e = self.ws, self.ws.epoch
        colors = self.theme.stage_colors
        onset = e * ws.epoch_sec
        parts = [f"<b>Epoch {e + 1}</b> / {ws.n_epochs}",
                 fmt_clock(ws.clock(onset), onset),
                 f"Technician: {chip(ws.technician.stages[e], colors)}"]
        run = ws.active_run
        if run is not None and run.hypnogram.stages[e] >= 0:
            p = float(run.hypnogram.probabilities[e].max())
            parts.append(f"Model: {chip(run.hypnogram.stages[e], colors)} ({p:.0%})")
        if getattr(self, "rows", None):
            parts.append(f"<span style='color:{self.theme.muted}'>{self.paper_text()}</span>")
        if getattr(self, "use_montage", False) and self.montage_notes:
            # the technician's montage is not what the model reads: say so on the page
            parts.append(f"<span style='color:{self.theme.mark_disagree}'>⚠ the model "
                         "reads other derivations (hover)</span>")
        self.header.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts))

    def _heat_row_map(self, spec) -> list[int | None]:
        """Trace row for each spec row: the same slot, else the first row of its role."""
        out = []
        for r in spec.rows:
            idx = next((i for i, row in enumerate(self.rows) if row.slot == r.slot), None)
            if idx is None:
                role = SLOTS[r.slot].role
                idx = next((i for i, row in enumerate(self.rows) if row.role == role), None)
            out.append(idx)
        return out

    def _update_heat(self) -> None:
        ex = self.ws.explanation_for()
        if ex is None or not self.heat_visible or not self.rows:
            self.heat.setVisible(False)
            return
        grid = np.zeros((len(self.rows), ex.grid.shape[1]))
        for j, i in enumerate(self._heat_row_map(ex.spec)):
            if i is not None:
                grid[i] += ex.grid[j]
        self.heat_grid = grid
        self.heat.setImage(heat_rgba(grid, self.theme.heat), autoLevels=False)
        x0 = float(ex.bin_starts[0])
        width = float(ex.bin_starts[-1] + ex.bin_sec - x0)
        self.heat.setRect(QRectF(x0, -0.5, width, len(self.rows)))
        self.heat.setVisible(True)

    # -- user controls ------------------------------------------------------------------
    def set_heat_visible(self, visible: bool) -> None:
        self.heat_visible = bool(visible)
        self._update_heat()

    def set_heat_opacity(self, opacity: float) -> None:
        self.heat.setOpacity(float(np.clip(opacity, 0, 1)))

    def change_gain(self, factor: float, row: int | None = None) -> None:
        """Multiply one row's gain (or every row's) and redraw without rereading."""
        idx = slice(None) if row is None else row
        self.gains[idx] = np.clip(self.gains[idx] * factor, *GAIN_RANGE)
        self.ws.set_gains({r.label: float(g) for r, g in zip(self.rows, self.gains)})
        self._update_axis_labels()
        t0, _ = self.ws.visible_span()
        self._draw_curves(t0 - self.ws.epoch * self.ws.epoch_sec)

    def reset_gains(self) -> None:
        self.gains[:] = 1.0
        self.change_gain(1.0)

    # -- paper scales ---------------------------------------------------------------------
    def dpi(self) -> float:
        screen = self.screen()
        dpi = screen.physicalDotsPerInchY() if screen is not None else 0.0
        return float(dpi) if dpi and dpi > 20 else 96.0

    def set_paper_scale(self, uv_per_mm: float = 0.0, mm_per_s: float = 0.0) -> None:
        """Show EEG and EOG at ``uv_per_mm`` and time at ``mm_per_s`` as on paper (7 or
        10 uV/mm, 10 mm/s for a 30-s page); 0 leaves each as it is (gains, window)."""
        self.paper = (max(0.0, float(uv_per_mm)), max(0.0, float(mm_per_s)))
        self.rebuild()

    def _apply_paper_scale(self) -> None:
        from app.core.signals.measure import MM_PER_INCH, gain_for

        uv_mm, mm_s = getattr(self, "paper", (0.0, 0.0))
        n = max(1, len(self.rows))
        row_px = max(1.0, self.plot.height() - 40) / n  # less the two time axes
        if uv_mm:
            for i, r in enumerate(self.rows):
                if r.role in ("EEG", "EOG") and r.full_scale_uv:
                    self.gains[i] = gain_for(uv_mm, r.full_scale_uv, row_px, self.dpi())
        if mm_s:  # the window that makes the plot read mm_s
            width_mm = max(1.0, self.plot.width() - 150) / self.dpi() * MM_PER_INCH
            want = max(self.ws.epoch_sec, round(width_mm / mm_s))
            if abs(want - self.ws.view.window_sec) >= 1.0:
                self.ws.set_view(window_sec=float(want))  # rebuilds the view again

    def paper_text(self) -> str:
        """The scales shown now, in paper units (for the header)."""
        from app.core.signals.measure import mm_per_second, uv_per_mm

        rel0, rel1 = self._rel_span()
        n = max(1, len(self.rows))
        row_px = max(1.0, self.plot.height() - 40) / n
        dpi = self.dpi()
        width_px = max(1.0, self.plot.width() - 150)
        parts = [f"{mm_per_second(rel1 - rel0, width_px, dpi):.1f} mm/s"]
        eeg = next((i for i, r in enumerate(self.rows)
                    if r.role == "EEG" and r.full_scale_uv), None)
        if eeg is not None:
            sens = uv_per_mm(self.rows[eeg].full_scale_uv, self.gains[eeg], row_px, dpi)
            parts.append(f"EEG {sens:.1f} µV/mm")
        return " · ".join(parts)

    # -- measuring ----------------------------------------------------------------------
    def _measure_drag(self, x0: float, y0: float, x1: float, y1: float, done: bool) -> None:
        """Rubber band from the press to the pointer; on release, the measurement."""
        self.measure_line.setData([x0, x1], [y0, y1])
        self.measure_line.setVisible(True)
        if done:
            self.measure(x0, x1, int(round(y0)))

    def measure(self, rel0: float, rel1: float, row: int):
        """Measure ``row`` between two times (s from the epoch's onset): shown beside
        the band and returned; outside the recording is a sentence, nothing else."""
        from app.core.signals.measure import measure_samples

        if not 0 <= row < len(self.rows) or abs(rel1 - rel0) < 0.02:
            self.measure_line.setVisible(False)
            self.measure_text.setVisible(False)
            return None
        r, tr = self.rows[row], self.traces[row]
        onset = self.ws.epoch * self.ws.epoch_sec
        lo, hi = sorted((onset + rel0, onset + rel1))
        if lo < 0 or hi > self.ws.recording.duration_sec + 1e-6:
            from app.errors import StudyError

            raise StudyError(f"The measurement on {r.label} lies outside the recording, "
                             f"which lasts {self.ws.recording.duration_sec:.1f} s.")
        # the samples as drawn (filters, montage): the number matches what was seen
        m = measure_samples(tr.data, tr.sfreq, tr.t0, lo, hi, r.label)
        unit = "µV" if r.full_scale_uv else r.unit
        self.measure_text.setText(f"{m.duration_sec:.2f} s · {m.peak_to_peak_uv:.0f} {unit} "
                                  "p-p")
        self.measure_text.setPos(max(rel0, rel1), row - 0.45)
        self.measure_text.setVisible(True)
        self.last_measurement = m
        return m

    def _wheel(self, y: float, delta: int, all_rows: bool) -> None:
        row = int(round(y))
        if not all_rows and not 0 <= row < len(self.rows):
            return
        factor = GAIN_STEP ** (delta / 120.0)
        self.change_gain(factor, None if all_rows else row)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        if getattr(self, "rows", None) is not None and any(getattr(self, "paper", ())):
            self._apply_paper_scale()  # paper units follow the screen's size
            self._update_axis_labels()
        if getattr(self, "rows", None) is not None:
            rel0, rel1 = self._rel_span()
            self._build_grid(rel0, rel1, max(1, len(self.rows)))
            if getattr(self, "traces", None):
                self._draw_curves(rel0)
