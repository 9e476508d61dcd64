"""Open a study: recent files first, or browse."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

STUDY_FILTER = ("PSG recordings (*.edf *.EDF *.bdf *.BDF *.rec *.fif *.vhdr *.set);;"
                "All files (*)")


class OpenStudyDialog(QDialog):
    def __init__(self, recent: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a study")
        self.path: str | None = None
        self.recent = QListWidget()
        for p in recent:
            self.recent.addItem(p)
            if not Path(p).exists():
                item = self.recent.item(self.recent.count() - 1)
                item.setToolTip("This file is no longer there.")
        self.recent.itemActivated.connect(lambda item: self._choose(item.text()))
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        browse = buttons.addButton("Browse…", QDialogButtonBox.ActionRole)
        browse.clicked.connect(self._browse)
        buttons.accepted.connect(self._open_selected)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Recent studies" if recent else "No recent studies yet."))
        lay.addWidget(self.recent)
        lay.addWidget(buttons)
        self.resize(640, 360)

    def _choose(self, path: str) -> None:
        self.path = path
        self.accept()

    def _open_selected(self) -> None:
        item = self.recent.currentItem()
        if item is not None:
            self._choose(item.text())
        else:
            self._browse()

    def _browse(self) -> None:
        start = str(Path(self.recent.item(0).text()).parent) if self.recent.count() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a PSG study", start, STUDY_FILTER)
        if path:
            self._choose(path)
