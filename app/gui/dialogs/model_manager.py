"""Model manager: which bundle scores, and its card (training data, metrics, use)."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)


def _value(v) -> str:
    if v in (None, "", [], {}):
        return "<i>not stated</i>"
    if isinstance(v, dict):
        rows = "".join(f"<tr><td style='padding-right:10px'>{html.escape(str(k))}</td>"
                       f"<td>{_value(x)}</td></tr>" for k, x in v.items())
        return f"<table>{rows}</table>"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, list):
        return html.escape(json.dumps(v))
    return html.escape(str(v))


def card_html(desc: dict) -> str:
    """The bundle's description as HTML (what a technician needs to trust it, or not)."""
    keys = (("Name", f"{desc.get('name', '')} {desc.get('version', '')}"),
            ("Folder", desc.get("path")), ("Architecture", desc.get("architecture")),
            ("Weights", f"LoRA adapter on {desc['base_model']}" if desc.get("adapter")
             else "full model in the bundle"),
            ("Picture", desc.get("render_spec")), ("Training data", desc.get("training_data")),
            ("Metrics", desc.get("metrics")), ("Intended use", desc.get("intended_use")),
            ("Limitations", desc.get("limitations")), ("Licence", desc.get("licence")))
    rows = "".join(f"<tr><td valign='top' style='padding-right:12px'><b>{k}</b></td>"
                   f"<td>{_value(v)}</td></tr>" for k, v in keys)
    return f"<table cellspacing='4'>{rows}</table>"


class ModelManagerDialog(QDialog):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Model manager")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.card = QTextBrowser()
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        choose = buttons.addButton("Choose bundle folder…", QDialogButtonBox.ActionRole)
        default = buttons.addButton("Use the embedded default", QDialogButtonBox.ActionRole)
        choose.clicked.connect(self._choose)
        default.clicked.connect(lambda: self.use(""))
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.status)
        lay.addWidget(self.card, 1)
        lay.addWidget(buttons)
        self.resize(720, 560)
        self.refresh()

    def refresh(self) -> None:
        kind, text = self.controller.model_status()
        bundle = self.controller.bundle()
        where = self.controller.bundle_path()
        self.status.setText(f"<b>In use:</b> {html.escape(str(where))}<br>{html.escape(text)}")
        self.status.setTextFormat(Qt.RichText)
        if kind in ("synthetic", "error", "none"):
            self.status.setStyleSheet("padding: 6px; background: palette(alternate-base); "
                                      "border: 1px solid palette(mid)")
        self.card.setHtml(card_html(bundle.describe()) if bundle is not None else
                          "<p>No model bundle is loaded. PSG Lens works without one: score "
                          "every epoch by hand. A bundle is a folder with "
                          "<code>model_card.json</code> and safetensors weights.</p>")

    def use(self, path: str) -> None:
        self.controller.set_bundle(path)
        self.refresh()

    def _choose(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle folder")
        if path:
            self.use(path)
