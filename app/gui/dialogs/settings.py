"""Settings: scorer, model, thresholds, auto-advance, colours, theme (saved per user)."""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.config import DEFAULT_STAGE_COLORS, Settings

# the values are app.core.explain.METHODS (a test checks); not imported here, so opening
# Settings never imports the explanation stack
HEATMAP_METHODS = (
    ("integrated gradients (fast; the default)", "ig"),
    ("patch ablation (most faithful, slower)", "ablation"),
    ("occlusion (sliding window)", "occlusion"),
    ("attention rollout (the same map for every stage)", "rollout"),
)


class SettingsDialog(QDialog):
    """Edits a copy; :meth:`result_settings` is what the caller applies on accept."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PSG Lens settings")
        self.base = settings
        self.colors = dict(settings.stage_colors)
        s = settings
        self.scorer_name = QLineEdit(s.scorer_name)
        self.scorer_id = QLineEdit(s.scorer_id)
        self.scorer_id.setPlaceholderText("written in the edit log; default: your login name")
        self.bundle = QLineEdit(s.default_bundle)
        self.bundle.setPlaceholderText("empty: the embedded default model")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.bundle, 1)
        bundle_row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(s.device if s.device in ("auto", "cpu", "cuda", "mps")
                                   else "auto")
        self.batch = QSpinBox()
        self.batch.setRange(1, 512)
        self.batch.setValue(s.batch_size)
        self.mode = QComboBox()  # only models that answer in words (SleepVLM) use it
        for text, value in (("as the model card says", ""),
                            ("rationale: write the reasons, then the stage", "rationale"),
                            ("fast: the stage at once (an approximation)", "fast")):
            self.mode.addItem(text, value)
        self.mode.setCurrentIndex(max(0, self.mode.findData(s.answer_mode)))
        self.mode.setToolTip("For models that answer in words (SleepVLM). Fast reads the "
                             "stage with the rationale left empty: several times quicker, "
                             "outside what the model was trained on. Write a rationale for "
                             "one epoch any time from the Model panel.")
        self.fuse = QCheckBox("Where the model's card measured YASA, or the model and YASA "
                              "together, ahead of the model alone with the study's leads, "
                              "stage with both together")
        self.fuse.setChecked(s.fuse_weak_leads)
        self.fuse.setToolTip("As psg-lens score does. Off: the model alone, as "
                             "psg-lens score --engine vlm; heatmaps explain the model either "
                             "way.")
        self.method = QComboBox()  # the heatmap the workstation asks for per epoch
        for text, value in HEATMAP_METHODS:
            self.method.addItem(text, value)
        self.method.setCurrentIndex(max(0, self.method.findData(s.explain_method)))
        self.method.setToolTip("Integrated gradients answers within a second while you page "
                               "through the night; ablation is the most faithful on the "
                               "embedded model and takes longer (see the README, "
                               "Explanations). SleepVLM models use ig or occlusion.")
        self.hypopnea = QComboBox()
        self.hypopnea.addItem("1A: 30 % drop with a 3 % desaturation or an arousal "
                              "(AASM recommended)", "1A")
        self.hypopnea.addItem("1B: 30 % drop with a 4 % desaturation", "1B")
        self.hypopnea.setCurrentIndex(max(0, self.hypopnea.findData(s.hypopnea_rule)))
        self.sensitivity = QDoubleSpinBox()  # paper units: 0 keeps the screen's own scale
        self.sensitivity.setRange(0.0, 200.0)
        self.sensitivity.setDecimals(1)
        self.sensitivity.setSpecialValueText("as the row gains say")
        self.sensitivity.setSuffix(" µV/mm")
        self.sensitivity.setValue(s.eeg_uv_per_mm)
        self.timebase = QDoubleSpinBox()
        self.timebase.setRange(0.0, 100.0)
        self.timebase.setDecimals(1)
        self.timebase.setSpecialValueText("the chosen window (30 s, 60 s, 5 min)")
        self.timebase.setSuffix(" mm/s")
        self.timebase.setValue(s.mm_per_s)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.2, 0.99)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(s.low_confidence)
        self.advance = QCheckBox("Each scoring key moves to the next epoch")
        self.advance.setChecked(s.auto_advance)
        self.theme = QComboBox()
        self.theme.addItems(["light", "dark"])
        self.theme.setCurrentText(s.theme)
        colors = QHBoxLayout()
        self.color_buttons: dict[str, QPushButton] = {}
        for label in DEFAULT_STAGE_COLORS:
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, lab=label: self._pick(lab))
            self.color_buttons[label] = b
            colors.addWidget(b)
        reset = QPushButton("Colour-blind-safe defaults")
        reset.clicked.connect(self._reset_colors)
        colors.addWidget(reset)
        self._paint_buttons()
        form = QFormLayout(self)
        form.addRow("Scorer name", self.scorer_name)
        form.addRow("Scorer ID", self.scorer_id)
        form.addRow("Model bundle", bundle_row)
        form.addRow("Device", self.device)
        form.addRow("Batch size", self.batch)
        form.addRow("Answer mode", self.mode)
        form.addRow("With YASA", self.fuse)
        form.addRow("Heatmap method", self.method)
        form.addRow("Hypopnea rule (event detectors)", self.hypopnea)
        form.addRow("EEG sensitivity (paper)", self.sensitivity)
        form.addRow("Timebase (paper)", self.timebase)
        form.addRow("Low-confidence threshold", self.threshold)
        form.addRow("Auto-advance", self.advance)
        form.addRow("Theme", self.theme)
        form.addRow("Stage colours", colors)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle folder",
                                                self.bundle.text())
        if path:
            self.bundle.setText(path)

    def _pick(self, label: str) -> None:
        color = QColorDialog.getColor(QColor(self.colors[label]), self, f"Colour of {label}")
        if color.isValid():
            self.colors[label] = color.name().upper()
            self._paint_buttons()

    def _reset_colors(self) -> None:
        self.colors = dict(DEFAULT_STAGE_COLORS)
        self._paint_buttons()

    def _paint_buttons(self) -> None:
        for label, b in self.color_buttons.items():
            c = QColor(self.colors[label])
            text = "#000000" if c.lightness() > 140 else "#FFFFFF"
            b.setStyleSheet(f"background: {c.name()}; color: {text}; padding: 3px 8px")

    def result_settings(self) -> Settings:
        return dataclasses.replace(
            self.base, scorer_name=self.scorer_name.text().strip(),
            scorer_id=self.scorer_id.text().strip(), default_bundle=self.bundle.text().strip(),
            device=self.device.currentText(), batch_size=self.batch.value(),
            answer_mode=str(self.mode.currentData() or ""),
            fuse_weak_leads=self.fuse.isChecked(),
            explain_method=str(self.method.currentData() or "ig"),
            hypopnea_rule=str(self.hypopnea.currentData() or "1A"),
            eeg_uv_per_mm=round(self.sensitivity.value(), 1),
            mm_per_s=round(self.timebase.value(), 1),
            low_confidence=round(self.threshold.value(), 3),
            auto_advance=self.advance.isChecked(), theme=self.theme.currentText(),
            stage_colors=dict(self.colors), notes=[])
