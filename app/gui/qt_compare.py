"""Runs and scorers: the model runs (pick the active one), their agreement with the
technician and with each other, imported scorers' agreement, and a jump list of the
epochs where they disagree."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.scoring.agreement import Agreement
from app.core.scoring.stages import STAGE_LABELS, Stage
from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber, fmt_clock
from app.gui.theme import Theme

MAX_JUMPS = 500


def agreement_text(a: Agreement) -> str:
    if a.n_epochs == 0:
        return "no epoch scored by both yet"

    def num(x: float) -> str:
        return "-" if math.isnan(x) else f"{x:.2f}"

    per = " ".join(f"{s} {num(a.f1[s])}" for s in STAGE_LABELS)
    return (f"κ {num(a.kappa)} · accuracy {a.accuracy:.0%} over {a.n_epochs} epochs"
            f"<br><span style='font-size:small'>F1: {per}</span>")


class ComparePanel(QWidget, Subscriber):
    """Runs and other scorers: agreement, the epochs where they differ, a consensus."""

    overlay_changed = Signal(object)   # the imported hypnogram to draw on the hypnogram

    def __init__(self, workspace: Workspace, theme: Theme, *, on_import=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.runs = QListWidget()
        self.runs.setMaximumHeight(96)
        self.runs.itemClicked.connect(self._pick_run)
        self.run_text = QLabel()
        self.run_text.setTextFormat(Qt.RichText)
        self.run_text.setWordWrap(True)
        self.scorers = QListWidget()
        self.scorers.setMaximumHeight(72)
        self.scorers.currentRowChanged.connect(lambda _: self.schedule())
        self.scorer_text = QLabel()
        self.scorer_text.setTextFormat(Qt.RichText)
        self.scorer_text.setWordWrap(True)
        self.all_scorers = QCheckBox("All scorers side by side (technician, runs, imports; "
                                     "a consensus of three or more)")
        self.all_scorers.setFocusPolicy(Qt.NoFocus)
        self.all_scorers.toggled.connect(lambda _: self.schedule())
        self.comparison = None
        self.jumps = QListWidget()
        self.jumps.itemActivated.connect(self._jump)
        self.jumps.itemClicked.connect(self._jump)
        import_button = QPushButton("Import hypnogram…")
        import_button.setFocusPolicy(Qt.NoFocus)
        if on_import is not None:
            import_button.clicked.connect(on_import)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(QLabel("<b>Model runs</b> (click one to make it the active run)"))
        lay.addWidget(self.runs)
        lay.addWidget(self.run_text)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Other scorers</b>"), 1)
        row.addWidget(import_button)
        lay.addLayout(row)
        lay.addWidget(self.scorers)
        lay.addWidget(self.scorer_text)
        lay.addWidget(self.all_scorers)
        self.jump_title = QLabel("<b>Disagreements</b> (click to jump)")
        lay.addWidget(self.jump_title)
        lay.addWidget(self.jumps, 1)
        self._timer = QTimer(self, singleShot=True, interval=50)
        self._timer.timeout.connect(self.refresh)
        for emitter in (workspace.events.stages, workspace.events.model, workspace.events.runs,
                        workspace.events.imported):
            self._subscribe(emitter, lambda ev: self.schedule())
        self.refresh()

    def schedule(self) -> None:
        """Coalesce: a streaming model run or fast scoring recomputes once per 50 ms."""
        self._timer.start()

    def refresh(self) -> None:
        ws = self.ws
        self.runs.blockSignals(True)
        self.runs.clear()
        for run in ws.runs:
            item = QListWidgetItem(f"{run.label} · {run.n_done}/{ws.n_epochs} epochs")
            item.setData(Qt.UserRole, run.run_id)
            self.runs.addItem(item)
            if run.run_id == ws.active_run_id:
                item.setSelected(True)
                f = item.font()
                f.setBold(True)
                item.setFont(f)
        self.runs.blockSignals(False)
        lines = []
        if ws.active_run is not None:
            lines.append("Technician vs active run: " + agreement_text(
                ws.technician_agreement(ws.active_run.hypnogram)))
        runs = ws.runs
        if len(runs) >= 2:
            a, b = runs[-2], runs[-1]
            lines.append(f"Run #{a.run_id} vs run #{b.run_id}: "
                         + agreement_text(ws.run_agreement(a.run_id, b.run_id)))
        self.run_text.setText("<br>".join(lines) or "No model run yet (Ctrl+R).")
        self._refresh_scorers()

    def _refresh_scorers(self) -> None:
        ws = self.ws
        row = self.scorers.currentRow()
        self.scorers.blockSignals(True)
        self.scorers.clear()
        for hyp in ws.imported:
            self.scorers.addItem(hyp.scorer)
        if ws.imported:
            self.scorers.setCurrentRow(row if 0 <= row < len(ws.imported) else 0)
        self.scorers.blockSignals(False)
        other = ws.imported[self.scorers.currentRow()] if ws.imported else None
        if other is not None:
            self.scorer_text.setText(f"Technician vs {other.scorer}: "
                                     + agreement_text(ws.technician_agreement(other)))
            self.jump_title.setText(f"<b>Disagreements with {other.scorer}</b> (click to jump)")
        else:
            self.scorer_text.setText("None imported (Ctrl+I).")
            self.jump_title.setText("<b>Disagreements with the model</b> (click to jump)")
        self.overlay_changed.emit(other)
        if self.all_scorers.isChecked():
            self._refresh_all()
            return
        epochs = ws.disagreement_epochs(other)
        ref = other if other is not None else ws.model
        self.jumps.clear()
        for e in epochs[:MAX_JUMPS]:
            onset = e * ws.epoch_sec
            text = (f"{e + 1:>5}  {fmt_clock(ws.clock(onset), onset)}   technician "
                    f"{Stage(int(ws.technician.stages[e])).label} · "
                    f"{'model' if other is None else 'other'} "
                    f"{Stage(int(ref.stages[e])).label}")
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, int(e))
            self.jumps.addItem(item)
        if len(epochs) > MAX_JUMPS:
            self.jumps.addItem(f"… and {len(epochs) - MAX_JUMPS} more (use D to step)")

    def _refresh_all(self) -> None:
        """Every scorer at once: where any two differ, and their consensus."""
        from app.errors import PSGLensError

        self.jumps.clear()
        try:
            cmp = self.ws.compare_scorers()
        except PSGLensError as err:
            self.jump_title.setText(html.escape(str(err)))
            return
        self.comparison = cmp
        title = (f"<b>{len(cmp.differences)} epochs where any two of {len(cmp.names)} "
                 "scorers differ</b> (click to jump)")
        if cmp.consensus is not None:
            agree = cmp.consensus_agreement()
            title += ("<br>Consensus (majority of each epoch): " + "; ".join(
                f"{html.escape(n)} {a.accuracy:.0%}" for n, a in agree.items())
                + f"; {len(cmp.ties)} tie(s) left unscored")
        self.jump_title.setText(title)
        for d in cmp.differences[:MAX_JUMPS]:
            item = QListWidgetItem(d.describe())
            item.setData(Qt.UserRole, int(d.epoch))
            self.jumps.addItem(item)
        if len(cmp.differences) > MAX_JUMPS:
            self.jumps.addItem(f"… and {len(cmp.differences) - MAX_JUMPS} more")

    def _pick_run(self, item: QListWidgetItem) -> None:
        run_id = item.data(Qt.UserRole)
        if run_id is not None:
            self.ws.set_active_run(int(run_id))

    def _jump(self, item: QListWidgetItem) -> None:
        e = item.data(Qt.UserRole)
        if e is not None:
            self.ws.set_epoch(int(e))
