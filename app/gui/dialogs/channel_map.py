"""Channel mapping: which channel (or subtraction) fills each AASM slot.

Pre-filled from the alias table; what the user confirms is saved in the session, so the
dialog does not come back for this study and the model reads the same channels.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.core.signals.channels import SLOTS, available_sources
from app.core.workspace import AASM_SLOTS, Workspace
from app.errors import PSGLensError

NONE = "(none)"


def source_text(src) -> str:
    return NONE if src is None else (f"{src.plus} - {src.minus}" if src.minus else src.plus)


class ChannelMapDialog(QDialog):
    def __init__(self, workspace: Workspace, reasons: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.setWindowTitle(f"Channel mapping: {workspace.path.name}")
        names = workspace.recording.ch_names
        derived = [source_text(s) for s in available_sources(names).values() if s.minus]
        options = [NONE, *names, *sorted(set(derived))]
        grid = QGridLayout()
        grid.addWidget(QLabel("<b>Slot</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Channel</b> (or \"A - B\" to subtract)"), 0, 1)
        grid.addWidget(QLabel("<b>Found as</b>"), 0, 2)
        self.combos: dict[str, QComboBox] = {}
        for i, (key, src) in enumerate(workspace.slot_sources().items(), start=1):
            combo = QComboBox()
            combo.setEditable(True)
            combo.addItems(options)
            combo.setCurrentText(source_text(src))
            self.combos[key] = combo
            quality = "missing" if src is None else src.quality
            q = QLabel(quality)
            if quality in ("guessed", "missing"):
                q.setStyleSheet("font-weight: bold")
            grid.addWidget(QLabel(f"{SLOTS[key].label} ({SLOTS[key].role})"), i, 0)
            grid.addWidget(combo, i, 1)
            grid.addWidget(q, i, 2)
        intro = QLabel("Check which channel fills each slot of the AASM montage. The trace "
                       "view and the model use this mapping; it is saved with the session.")
        intro.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        if reasons:
            why = QLabel("Please check: " + "; ".join(reasons) + ".")
            why.setWordWrap(True)
            lay.addWidget(why)
        lay.addLayout(grid)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #C0392B")
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setWindowModality(Qt.WindowModal)

    def mapping(self) -> dict[str, str]:
        return {k: c.currentText().strip() for k, c in self.combos.items()
                if c.currentText().strip() not in ("", NONE) and k in AASM_SLOTS}

    def accept(self) -> None:
        try:
            self.ws.set_channel_map(self.mapping())
        except PSGLensError as err:
            self.error.setText(str(err))
            return
        super().accept()
