"""The montage editor: derivations, re-referencing, order, visibility, filters, notch.

Every edit goes through the core's :class:`~app.core.signals.montage.Montage`, which
checks it against the study first; a refused edit is one sentence and the montage stays
as it was. OK applies it to the study (kept in its session); "Save as..." keeps it for
the user, to use on other studies. The model's picture is not changed by the montage:
the panel below says where the screen differs from what the model reads.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.signals.montage import Montage
from app.errors import PSGLensError

COLUMNS = ("Show", "Row", "Derivation", "High-pass (Hz)", "Low-pass (Hz)")
NOTCH = (("no notch", None), ("50-Hz notch", 50.0), ("60-Hz notch", 60.0))


class MontageDialog(QDialog):
    """Edit the study's montage; :attr:`montage` is the edited one."""

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.montage: Montage = workspace.montage
        self.setWindowTitle(f"Montage: {workspace.path.name}")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._edited)
        self.plus = QComboBox()
        self.reference = QComboBox()
        names = list(workspace.recording.ch_names)
        self.plus.addItems(names)
        self.reference.addItem("(none)", "")
        for n in names:
            self.reference.addItem(n, n)
        add = QPushButton("Add A − B")
        add.clicked.connect(self.add_row)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_row)
        up, down = QPushButton("Up"), QPushButton("Down")
        up.clicked.connect(lambda: self.move_row(-1))
        down.clicked.connect(lambda: self.move_row(1))
        self.scheme = QComboBox()
        for text, value in (("Re-reference…", ""), ("contralateral mastoid", "contralateral"),
                            ("linked mastoids", "linked"), ("average", "average")):
            self.scheme.addItem(text, value)
        self.scheme.activated.connect(lambda _: self.rereference(self.scheme.currentData()))
        self.notch = QComboBox()
        for text, value in NOTCH:
            self.notch.addItem(text, value)
        self.notch.setCurrentIndex(max(0, self.notch.findData(self.montage.notch_hz)))
        self.notch.activated.connect(lambda _: self._apply(
            lambda m: m.with_notch(self.notch.currentData())))
        save = QPushButton("Save as…")
        save.clicked.connect(self.save_as)
        self.named = QComboBox()
        self.named.addItem("Use a saved montage…", "")
        for name in workspace.named_montages():
            self.named.addItem(name, name)
        self.named.activated.connect(lambda _: self.use_named(self.named.currentData()))
        reset = QPushButton("Default")
        reset.clicked.connect(lambda: self._set(self.ws.default_montage()))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.differences = QLabel()
        self.differences.setWordWrap(True)
        row1 = QHBoxLayout()
        for w in (QLabel("Add"), self.plus, QLabel("−"), self.reference, add, remove, up,
                  down):
            row1.addWidget(w)
        row2 = QHBoxLayout()
        for w in (self.scheme, self.notch, self.named, save, reset):
            row2.addWidget(w)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept_montage)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.message)
        lay.addWidget(self.differences)
        lay.addWidget(buttons)
        self.resize(720, 560)
        self._fill()

    # -- the table ----------------------------------------------------------------------
    def _fill(self) -> None:
        self._filling = True
        rows = self.montage.rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            show.setCheckState(Qt.Checked if r.visible else Qt.Unchecked)
            cells = [show, QTableWidgetItem(r.label),
                     QTableWidgetItem(" − ".join([r.plus, "/".join(r.reference)])
                                      if r.reference else r.plus),
                     QTableWidgetItem("" if r.highpass_hz is None else f"{r.highpass_hz:g}"),
                     QTableWidgetItem("" if r.lowpass_hz is None else f"{r.lowpass_hz:g}")]
            for c in (1, 2):
                cells[c].setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            for c, item in enumerate(cells):
                self.table.setItem(i, c, item)
        self._filling = False
        diffs = self.ws.montage_differences() if hasattr(self.ws, "montage_differences") \
            else []
        self.differences.setText("The model's picture keeps its own derivations: "
                                 + " ".join(diffs) if diffs else "")

    def _edited(self, item: QTableWidgetItem) -> None:
        if getattr(self, "_filling", False):
            return
        row, col = item.row(), item.column()
        if col == 0:
            self._apply(lambda m: m.shown(row, item.checkState() == Qt.Checked))
        elif col in (3, 4):
            text = item.text().strip()
            try:
                value = None if not text else float(text)
            except ValueError:
                self._say(f"'{text}' is not a frequency; give a number in Hz, or nothing "
                          "for no filter.")
                self._fill()
                return
            key = "highpass_hz" if col == 3 else "lowpass_hz"
            self._apply(lambda m: m.with_filters(row, **{key: value}))

    # -- edits --------------------------------------------------------------------------
    def _apply(self, edit) -> bool:
        """Apply ``edit(montage) -> montage``; a refusal is said and changes nothing."""
        try:
            self.montage = edit(self.montage)
        except PSGLensError as err:
            self._say(str(err))
            self._fill()
            return False
        self._say("")
        self._fill()
        return True

    def _set(self, montage: Montage) -> None:
        self.montage = montage
        self._fill()

    def _say(self, text: str) -> None:
        self.message.setText(f"<span style='color:#C0392B'>{text}</span>" if text else "")

    def selected(self) -> int | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return rows.pop() if len(rows) == 1 else None

    def add_row(self, plus: str | None = None, reference: str | None = None) -> bool:
        from app.core.signals.montage_reading import new_row

        plus = plus if plus is not None else self.plus.currentText()
        ref = reference if reference is not None else self.reference.currentData()
        try:
            row = new_row(self.ws.recording, plus, [ref] if ref else [])
        except PSGLensError as err:
            self._say(str(err))
            return False
        return self._apply(lambda m: m.added(row))

    def remove_row(self) -> bool:
        i = self.selected()
        return i is not None and self._apply(lambda m: m.removed(i))

    def move_row(self, step: int) -> bool:
        i = self.selected()
        if i is None or not 0 <= i + step < len(self.montage.rows):
            return False
        ok = self._apply(lambda m: m.moved(i, i + step))
        self.table.selectRow(i + step)
        return ok

    def rereference(self, scheme: str) -> bool:
        """Apply a scheme to the study at once (the core knows the electrodes)."""
        if not scheme:
            return False
        try:
            self.ws.set_montage(self.montage)
            notes = self.ws.rereference(scheme)
        except PSGLensError as err:
            self._say(str(err))
            return False
        self.montage = self.ws.montage
        self._say(" ".join(notes))
        self._fill()
        self.scheme.setCurrentIndex(0)
        return True

    def save_as(self, name: str | None = None) -> bool:
        if name is None:
            name, ok = QInputDialog.getText(self, "Save the montage", "Name:")
            if not ok:
                return False
        try:
            self.ws.set_montage(self.montage)
            self.ws.save_montage_as(name.strip())
        except (PSGLensError, OSError) as err:
            self._say(str(err))
            return False
        if self.named.findData(name.strip()) < 0:
            self.named.addItem(name.strip(), name.strip())
        return True

    def use_named(self, name: str) -> bool:
        if not name:
            return False
        try:
            self.montage = self.ws.use_named_montage(name)
        except PSGLensError as err:
            self._say(str(err))
            return False
        self._fill()
        return True

    def accept_montage(self) -> None:
        try:
            self.ws.set_montage(self.montage)
        except PSGLensError as err:
            self._say(str(err))
            return
        self.accept()
