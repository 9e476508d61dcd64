"""The whole-night spectrogram above the hypnogram, and the AASM evidence of the epoch.

The spectrogram (multitaper, one column per epoch, computed once per study in the
worker and cached; :mod:`app.core.signals.spectrogram`) shares the hypnogram's time
axis: zooming or panning one moves the other, the cursor follows the epoch, a click
jumps. Its title lists the current epoch's band powers. The evidence panel states, for
the current epoch, what the AASM rules look at (:mod:`app.core.scoring.evidence`):
slow-wave share against the N3 20 % rule, alpha, spindles, K-complexes, chin level
against the night. Both are measurements for the technician, not a verdict.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber
from app.gui.qt_hypnogram import NightViewBox
from app.gui.theme import Theme

EVIDENCE_DELAY_MS = 150  # after page flips pause, as the model's picture


class SpectrogramView(QWidget, Subscriber):
    """Epochs across, 0.5-25 Hz up, power in dB as colour."""

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.spectrogram = None
        self.title = QLabel("<b>Spectrogram</b> · computing in the background…")
        self.title.setContentsMargins(8, 2, 8, 0)
        self.vb = NightViewBox(lambda x: workspace.set_epoch(
            int(np.clip(x, 0, workspace.n_epochs - 1))))
        self.left = pg.AxisItem("left")
        self.left.setWidth(118)
        self.left.setLabel("Hz")
        self.plot = pg.PlotWidget(viewBox=self.vb, background=theme.background,
                                  axisItems={"left": self.left})
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.hideAxis("bottom")
        pi.getAxis("left").setTextPen(theme.muted)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self.cursor = pg.InfiniteLine(0.5, angle=90, pen=pg.mkPen(theme.accent, width=2))
        self.vb.addItem(self.cursor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        self._subscribe(workspace.events.epoch, lambda ev: self._update_cursor())

    def link_x(self, viewbox) -> None:
        """Share the hypnogram's time axis (both are in epochs)."""
        self.vb.setXLink(viewbox)

    def set_spectrogram(self, spec) -> None:
        self.spectrogram = spec
        db = np.nan_to_num(spec.power_db, nan=np.nan)
        finite = db[np.isfinite(db)]
        lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
        self.image.setImage(np.nan_to_num(db.T, nan=lo), autoLevels=False, levels=(lo, hi))
        self.image.setColorMap(pg.colormap.get("viridis"))
        f0, f1 = float(spec.freqs[0]), float(spec.freqs[-1])
        self.image.setRect(QRectF(0, f0, spec.n_epochs, f1 - f0))
        self.vb.setYRange(f0, f1, padding=0)
        self._update_cursor()

    def failed(self, text: str) -> None:
        self.title.setText(f"<b>Spectrogram</b> · {html.escape(text)}")

    def _update_cursor(self) -> None:
        e = self.ws.epoch
        self.cursor.setValue(e + 0.5)
        spec = self.spectrogram
        if spec is None or e >= spec.n_epochs:
            return
        rel = spec.bands(e).relative
        parts = " ".join(f"{_GREEK[k]} {v:.0%}" for k, v in rel.items() if np.isfinite(v))
        self.title.setText(f"<b>Spectrogram</b> · {html.escape(spec.channel)} · epoch "
                           f"{e + 1}: {parts or 'no data'}"
                           + (" · from the cache" if spec.from_cache else ""))


_GREEK = {"delta": "δ", "theta": "θ", "alpha": "α", "sigma": "σ", "beta": "β"}


class EvidencePanel(QWidget, Subscriber):
    """What the AASM rules look at in the current epoch, one line each."""

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.ready = False   # the night's chin levels are cached (the worker's night job)
        self.text = QLabel("Waiting for the night's measurements…")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(QLabel("<b>AASM evidence</b> for this epoch (measured, not a verdict)"))
        lay.addWidget(self.text, 1)
        self.evidence = None
        self._timer = QTimer(self, singleShot=True, interval=EVIDENCE_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._subscribe(workspace.events.epoch, lambda ev: self._timer.start())
        self._subscribe(workspace.events.channel_map, lambda ev: self._timer.start())

    def set_ready(self) -> None:
        self.ready = True
        self.refresh()

    def refresh(self):
        """Measure the current epoch (milliseconds once the night's levels are cached)."""
        from app.core.scoring.evidence import epoch_evidence
        from app.errors import PSGLensError

        if not self.ready:
            return None
        try:
            ev = epoch_evidence(self.ws.recording, self.ws.epoch,
                                override=self.ws.channel_map or None)
        except PSGLensError as err:
            self.text.setText(html.escape(str(err)))
            return None
        self.evidence = ev
        rows = [html.escape(line) for line in ev.lines()]
        if ev.meets_n3:
            rows.insert(0, "<b>Slow waves fill 20 % of the epoch or more</b> (the N3 rule)")
        self.text.setText("<br>".join(rows) or "Nothing to measure in this epoch.")
        return ev
