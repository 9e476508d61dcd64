"""Run the model on a range of epochs (1-based, inclusive, as shown everywhere)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget


class RunRangeDialog(QDialog):
    def __init__(self, n_epochs: int, first: int, last: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run the model on a range")
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, first), (self.last, last)):
            box.setRange(1, n_epochs)
            box.setValue(value + 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From epoch", self.first)
        form.addRow("To epoch", self.last)
        form.addRow(buttons)

    def epochs(self) -> list[int]:
        """0-based epoch indices, in order, whichever way round the user typed them."""
        a, b = sorted((self.first.value() - 1, self.last.value() - 1))
        return list(range(a, b + 1))
