"""The open study's widgets, composed: traces, model view, runs/scorers, hypnogram."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.core.signals.render_spec import RenderSpec
from app.core.workspace import Workspace
from app.gui.qt_compare import ComparePanel
from app.gui.qt_event_list import EventList
from app.gui.qt_events_view import EventsView
from app.gui.qt_hypnogram import HypnogramView
from app.gui.qt_model_view import ModelView
from app.gui.qt_model_words import ModelWords
from app.gui.qt_spectrogram import EvidencePanel, SpectrogramView
from app.gui.qt_trace_view import TraceView
from app.gui.theme import Theme


class StudyView(QWidget):
    def __init__(self, workspace: Workspace, theme: Theme, *,
                 fallback_spec: RenderSpec | None = None, heat_opacity: float = 0.5,
                 on_import=None, words: dict | None = None, on_detect=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.traces = TraceView(workspace, theme, heat_opacity=heat_opacity)
        self.model_view = ModelView(workspace, theme, fallback_spec=fallback_spec,
                                    heat_opacity=heat_opacity)
        # a chat model's rationale, under "What mattered" (words: request/cancel/pending)
        self.words = ModelWords(workspace, theme, **(words or {}))
        self.model_view.layout().addWidget(self.words)
        self.compare = ComparePanel(workspace, theme, on_import=on_import)
        # events: minutes of flow, effort and SpO2 under the EEG page; the list in a tab
        self.events_view = EventsView(workspace, theme)
        if not self.events_view.rows:  # (never setVisible(True) here: it has no parent
            self.events_view.hide()    # yet and would open as a window of its own)
        self.event_list = EventList(workspace, theme, on_detect=on_detect)
        self.hypnogram = HypnogramView(workspace, theme)
        self.compare.overlay_changed.connect(self.hypnogram.set_overlay)
        self.compare.overlay_changed.emit(workspace.imported[0] if workspace.imported
                                          else None)
        self.spectrogram = SpectrogramView(workspace, theme)  # above the hypnogram
        self.spectrogram.link_x(self.hypnogram.vb)
        self.evidence = EvidencePanel(workspace, theme)
        self.hypnogram.setMinimumHeight(190)  # nine labelled rows stay readable
        self.side = QTabWidget()
        # scrolled, never squeezed: a long note under the stage must not draw over the picture
        model_tab = QScrollArea()
        model_tab.setWidgetResizable(True)
        model_tab.setFrameShape(QFrame.NoFrame)
        model_tab.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        model_tab.setFocusPolicy(Qt.NoFocus)  # the keyboard belongs to scoring
        model_tab.setWidget(self.model_view)
        self.side.addTab(model_tab, "Model")
        self.side.addTab(self.compare, "Runs && scorers")
        self.side.addTab(self.event_list, "Events")
        self.side.addTab(self.evidence, "Evidence")
        self.side.setMinimumWidth(340)
        for w in (self.traces, self.side, self.hypnogram, self.events_view, self.spectrogram):
            w.setFocusPolicy(Qt.NoFocus)
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.traces)
        top.addWidget(self.side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([1100, 420])
        main = QSplitter(Qt.Vertical)
        main.addWidget(top)
        main.addWidget(self.events_view)
        night = QSplitter(Qt.Vertical)  # spectrogram and hypnogram: one time axis
        night.addWidget(self.spectrogram)
        night.addWidget(self.hypnogram)
        night.setSizes([110, 200])
        main.addWidget(night)
        main.setStretchFactor(0, 4)
        main.setStretchFactor(1, 2)
        main.setStretchFactor(2, 1)
        main.setSizes([540, 200, 300] if self.events_view.rows else [680, 0, 320])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(main)
        self.top_splitter, self.main_splitter = top, main

    def widgets(self) -> list:
        return [self.traces, self.model_view, self.words, self.compare, self.events_view,
                self.event_list, self.hypnogram, self.spectrogram, self.evidence]

    def detach(self) -> None:
        """Unsubscribe every widget from the workspace (before this view is deleted)."""
        for w in self.widgets():
            w.detach()

    def set_heat_visible(self, visible: bool) -> None:
        self.traces.set_heat_visible(visible)
        self.model_view.set_heat_visible(visible)

    def set_heat_opacity(self, opacity: float) -> None:
        self.traces.set_heat_opacity(opacity)
        self.model_view.set_heat_opacity(opacity)

    def set_fallback_spec(self, spec: RenderSpec | None) -> None:
        self.model_view.fallback_spec = spec
        self.model_view._rendered = None
        self.model_view.schedule()
