"""The model view: the epoch exactly as the model saw it, why, and what it concluded.

The picture is drawn by :func:`app.core.signals.render.render_epoch` with the run's own render
spec (the very function the engine uses) and shown pixel for pixel (no smoothing).
A saliency heatmap, when one exists for the epoch, is painted over it.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.core.signals.channels import SLOTS
from app.core.signals.render import render_epoch, resolve_sources
from app.core.signals.render_spec import RenderSpec
from app.core.workspace import Workspace
from app.errors import PSGLensError
from app.gui.qt_common import Subscriber, chip
from app.gui.qt_probabilities import BarList, ProbabilityBars
from app.gui.theme import Theme
from app.gui.trace_data import heat_rgba

RENDER_DELAY_MS = 40


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3|4) uint8 -> a QImage that owns a copy of the pixels."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = arr.shape
    fmt = QImage.Format_RGB888 if c == 3 else QImage.Format_RGBA8888
    return QImage(arr.data, w, h, c * w, fmt).copy()


class EpochImage(QWidget):
    """A model image scaled to fit (nearest neighbour) with an optional heat overlay."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.image: QImage | None = None
        self.overlay: QImage | None = None
        self.opacity = 0.5
        self.overlay_visible = True
        self.placeholder = ""
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        # the model's picture pixel for pixel; it grows into any room the panel has, and
        # the stage bars under it stay in view on a 1050-px screen
        return QSize(224, 224)

    def set_image(self, rgb: np.ndarray | None, placeholder: str = "") -> None:
        self.image = None if rgb is None else to_qimage(rgb)
        self.placeholder = placeholder
        self.update()

    def set_heat(self, heat: np.ndarray | None, color: tuple[int, int, int]) -> None:
        self.overlay = None if heat is None else to_qimage(heat_rgba(heat, color, 230))
        self.update()

    def target_rect(self) -> QRectF:
        if self.image is None:
            return QRectF(self.rect())
        side = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * side, self.image.height() * side
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QPainter(self)
        if self.image is None:
            p.setPen(QColor(self.theme.muted))
            p.drawText(self.rect().adjusted(12, 0, -12, 0), Qt.AlignCenter | Qt.TextWordWrap,
                       self.placeholder)
            return
        target = self.target_rect()
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        p.drawImage(target, self.image)
        if self.overlay is not None and self.overlay_visible:
            p.setOpacity(self.opacity)
            p.drawImage(target, self.overlay)
        p.end()


class ModelView(QWidget, Subscriber):
    """Picture, probabilities, stages and the per-channel importance of the epoch."""

    def __init__(self, workspace: Workspace, theme: Theme, *,
                 fallback_spec: RenderSpec | None = None, heat_opacity: float = 0.5,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.theme, self.fallback_spec = workspace, theme, fallback_spec
        self.title = QLabel()
        self.title.setStyleSheet(f"color: {theme.muted}")
        self.image = EpochImage(theme)
        self.image.opacity = heat_opacity
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setWordWrap(True)
        self.bars = ProbabilityBars(workspace, theme)
        self.importance_title = QLabel("<b>What mattered</b> (share of the heatmap per channel)")
        self.importance = BarList(theme, empty_text="No explanation for this epoch yet.")
        self.importance.label_width = 76
        # text never widens the panel (a heatmap's channel names, a long run label): the
        # splitter's width is the technician's choice
        for label in (self.title, self.summary, self.importance_title):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.summary)
        lay.addWidget(self.bars)
        lay.addSpacing(6)
        lay.addWidget(self.importance_title)
        lay.addWidget(self.importance)
        self._children_to_detach = [self.bars]
        # debounced: while pages flip (a held arrow key) the traces keep up and the
        # picture follows once the flipping pauses
        self._timer = QTimer(self, singleShot=True, interval=RENDER_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._rendered: tuple | None = None
        for emitter in (workspace.events.epoch, workspace.events.runs,
                        workspace.events.channel_map):
            self._subscribe(emitter, lambda ev: self.schedule())
        for emitter in (workspace.events.stages, workspace.events.model):
            self._subscribe(emitter, lambda ev: self._update_text())
        self._subscribe(workspace.events.explanation, lambda ev: self._update_heat())
        self.refresh()

    @property
    def spec(self) -> RenderSpec | None:
        run = self.ws.active_run
        if run is not None and run.spec is not None:
            return run.spec
        return self.fallback_spec

    def schedule(self) -> None:
        """Render after the page flip has been drawn (and only when shown)."""
        self._update_text()
        self._timer.start()

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        self.schedule()

    def refresh(self) -> None:
        if self.ws.session.closed:
            return  # a refresh queued before the study closed (e.g. a failed run quitting)
        spec, e = self.spec, self.ws.epoch
        self._update_text()
        if spec is None:
            self.title.setText("Model picture")
            self.image.set_image(None, "No model picture: choose a model bundle in "
                                       "Model > Model manager, or score by hand.")
        else:
            self.title.setText(f"As the model sees it: {spec.name} spec, "
                               f"{spec.width}x{spec.height} px")
            key = (e, spec, tuple(sorted(self.ws.channel_map.items())))
            if key != self._rendered and (self.isVisible() or self._rendered is None):
                try:
                    sources = resolve_sources(self.ws.recording, spec,
                                              self.ws.channel_map or None)
                    self.image.set_image(render_epoch(self.ws.recording, spec, e, sources))
                    self._rendered = key
                except PSGLensError as err:
                    self.image.set_image(None, str(err))
        self._update_heat()

    def _update_text(self) -> None:
        ws, e, colors = self.ws, self.ws.epoch, self.theme.stage_colors
        tech = chip(ws.technician.stages[e], colors)
        run = ws.active_run
        if run is None:
            self.summary.setText(f"Model: <i>no run yet</i> &nbsp;·&nbsp; Technician: {tech}")
            return
        st = int(run.hypnogram.stages[e])
        conf = float(run.hypnogram.probabilities[e].max()) if st >= 0 else float("nan")
        low = st >= 0 and conf < ws.low_confidence
        conf_text = "-" if st < 0 else (f"<b style='color:{self.theme.mark_low}'>{conf:.0%} "
                                        "(low)</b>" if low else f"{conf:.0%}")
        note = run.epoch_note(e)
        if st < 0 and note:
            conf_text = "model did not stage it"
        warn = "".join(f"<br><span style='color:{self.theme.mark_low}'>&#9888; "
                       f"{html.escape(text)}</span>" for text in
                       (run.meta.get("advice", ""), run.night_warning(), note) if text)
        check = ws.cross_check()  # a finished YASA run beside a finished model run
        contested = check.note(e) if check is not None else ""
        if contested:
            warn += (f"<br><span style='color:{self.theme.mark_low}'>&#9888; "
                     f"{html.escape(contested)}</span>")
        missing = run.meta.get("missing", "")
        missing = (f"<br><span style='color:{self.theme.muted}'>{html.escape(missing)}</span>"
                   if missing else "")
        if check is not None:
            color = self.theme.mark_low if check.low else self.theme.muted
            missing += (f"<br><span style='color:{color}'>" + html.escape(check.sentence(
                "this line names YASA's stage on each such epoch")) + "</span>")
        if run.smoothing is not None and st >= 0:  # the picture alone may have said otherwise
            own, p_own = run.model_stage(e)
            alone = ("the same" if own == st else
                     f"{chip(own, colors)} {p_own:.0%}" if own >= 0 else "-")
            missing += (f"<br><span style='color:{self.theme.muted}'>Staged with the night "
                        f"around it; this picture alone: {alone}</span>")
        self.summary.setText(f"Model: {chip(st, colors)} &nbsp;·&nbsp; Technician: {tech}"
                             f" &nbsp;·&nbsp; Confidence: {conf_text}<br>"
                             f"<span style='color:{self.theme.muted}'>{run.label}</span>{warn}"
                             f"{missing}")

    def _update_heat(self) -> None:
        ex = self.ws.explanation_for()
        spec = self.spec
        if ex is None or spec is None or ex.heat.shape != (spec.height, spec.width):
            self.image.set_heat(None, self.theme.heat)
            self.importance.set_items([])
            return
        self.image.set_heat(ex.heat, self.theme.heat)
        roles = {r.label or r.slot: SLOTS[r.slot].role for r in ex.spec.rows}
        self.importance.set_items([
            (label, share, self.theme.trace_color(roles.get(label, "OTHER")), i == 0)
            for i, (label, share) in enumerate(ex.channel_importance())])

    def set_heat_visible(self, visible: bool) -> None:
        self.image.overlay_visible = bool(visible)
        self.image.update()

    def set_heat_opacity(self, opacity: float) -> None:
        self.image.opacity = float(np.clip(opacity, 0, 1))
        self.image.update()
