"""Error and information boxes: one clear sentence, no traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget | None, text: str, title: str = "PSG Lens") -> QMessageBox:
    """A window-modal box that does not block the caller (``open``, not ``exec``)."""
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, parent)
    box.setObjectName("psglens-error")
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextSelectableByMouse)
    box.setWindowModality(Qt.WindowModal)
    box.open()
    return box
