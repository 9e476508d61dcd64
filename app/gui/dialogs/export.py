"""Export: the hypnogram in any format PSG Lens writes, or the PDF report with a preview.

The preview renders the report's first page with pypdfium2 (PySide6-Essentials has no
QtPdf), from a temporary file that is deleted afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.formats import FORMATS
from app.core.formats.event_files import EVENT_FORMATS
from app.errors import PSGLensError
from app.gui.qt_model_view import to_qimage

REPORT = "report"
EVENTS = "events:"  # + an EVENT_FORMATS name: the study's events, not its stages


def render_pdf_page(path: str | Path, width_px: int = 560, page: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 picture of one PDF page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        p = pdf[page]
        scale = width_px / p.get_width()
        image = p.render(scale=scale).to_pil().convert("RGB")
        return np.asarray(image)
    finally:
        pdf.close()


def default_name(study: Path, fmt: str) -> str:
    if fmt == REPORT:
        return f"{study.stem}_report.pdf"
    if fmt.startswith(EVENTS):
        ext = EVENT_FORMATS[fmt[len(EVENTS):]].extensions[0]
        # "_scored": a hypnogram exported as BIDS is night_events.tsv already
        return f"{study.stem}_scored{ext}" if ext.startswith("_") else \
            f"{study.stem}_events{ext}"
    ext = FORMATS[fmt].extensions[0]
    return f"{study.stem}{ext}" if ext.startswith("_") else f"{study.stem}_hypnogram{ext}"


def annotations_path(hypnogram_path: str | Path) -> Path:
    """Where the annotations go beside an exported hypnogram."""
    p = Path(hypnogram_path)
    stem = p.name[: -len("".join(p.suffixes))] if p.suffixes else p.name
    return p.with_name(f"{stem}_annotations.csv")


class ExportDialog(QDialog):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        ws = controller.workspace
        if ws is None:
            raise PSGLensError("Open a study first.")
        self.study = ws.path
        self.setWindowTitle(f"Export: {ws.path.name}")
        self.which = QComboBox()
        self.which.addItem("Technician's scoring", "technician")
        for run in ws.runs:
            self.which.addItem(f"Model run {run.label}", run.run_id)
        self.format = QComboBox()
        for name, spec in FORMATS.items():
            self.format.addItem(f"{spec.description} ({', '.join(spec.extensions)})", name)
        self.format.addItem("PDF report (hypnogram, hypnodensity, AASM statistics, event "
                            "indices)", REPORT)
        for name, spec in EVENT_FORMATS.items():
            self.format.addItem(f"Events: {spec.description} ({', '.join(spec.extensions)})",
                                EVENTS + name)
        self.detected = QCheckBox("Include detected events not yet reviewed (marked as "
                                  "the detector's)")
        # the study's annotations and scored events travel with the hypnogram
        self.with_events = QCheckBox("Also write the study's annotations and events "
                                     "beside it (…_annotations.csv)")
        self.with_events.setChecked(any(e.source.value != "detector"
                                        for _, e in ws.events_list))
        self.probabilities = QCheckBox("Include the model's probabilities (where the format "
                                       "holds them)")
        self.probabilities.setChecked(ws.model is not None)
        self.anonymise = QCheckBox("Anonymise (no patient fields; no start date in "
                                   "hypnogram files)")
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.preview_button = QPushButton("Preview the report")
        self.preview_button.clicked.connect(self.show_preview)
        self.preview_label = QLabel()
        self.preview_label.setAlignment(Qt.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.preview_label)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(260)
        self.scroll = scroll
        form = QFormLayout()
        form.addRow("Scoring", self.which)
        form.addRow("Format", self.format)
        form.addRow("", self.probabilities)
        form.addRow("", self.anonymise)
        form.addRow("", self.detected)
        form.addRow("", self.with_events)
        form.addRow("Save as", row)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.preview_button)
        lay.addWidget(scroll, 1)
        lay.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        self.resize(720, 720)

    def fmt(self) -> str:
        return self.format.currentData()

    def set_format(self, name: str) -> None:
        self.format.setCurrentIndex(self.format.findData(name))

    def _format_changed(self) -> None:
        fmt = self.fmt()
        is_report = fmt == REPORT
        is_events = fmt.startswith(EVENTS)
        self.probabilities.setEnabled(not is_report and not is_events and "probabilities"
                                      in (FORMATS[fmt].carries if fmt in FORMATS else ()))
        self.which.setEnabled(not is_report and not is_events)
        self.detected.setVisible(is_events)
        self.with_events.setVisible(not is_events and not is_report)
        self.preview_button.setVisible(is_report)
        self.scroll.setVisible(is_report)
        self.path.setText(str(self.study.with_name(default_name(self.study, fmt))))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if path:
            self.path.setText(path)

    def show_preview(self) -> bool:
        """Write the report to a temp file and show its first page."""
        with tempfile.TemporaryDirectory(prefix="psglens-preview-") as tmp:
            pdf = Path(tmp) / "preview.pdf"
            if not self.controller.write_report(pdf, anonymise=self.anonymise.isChecked()):
                return False
            rgb = render_pdf_page(pdf, width_px=max(400, self.scroll.viewport().width() - 8))
        self.preview_label.setPixmap(QPixmap.fromImage(to_qimage(rgb)))
        return True

    def export(self) -> bool:
        path = self.path.text().strip()
        if not path:
            return False
        if self.fmt() == REPORT:
            ok = self.controller.write_report(path, anonymise=self.anonymise.isChecked())
        elif self.fmt().startswith(EVENTS):
            ok = self.controller.export_events(path, self.fmt()[len(EVENTS):],
                                               detected=self.detected.isChecked())
        else:
            ok = self.controller.export_hypnogram(
                path, self.fmt(), which=self.which.currentData(),
                include_probabilities=self.probabilities.isChecked()
                and self.probabilities.isEnabled(),
                anonymise=self.anonymise.isChecked())
            if ok and self.with_events.isChecked():
                ok = self.controller.export_events(annotations_path(path), "csv")
        if ok:
            self.accept()
        return ok
