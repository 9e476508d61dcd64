"""The event list: every scored, detected, imported or study event, filtered and searched.

Double-click (or Enter) goes to the event; ``]`` / ``[`` move to the next or previous
event of the filtered type. Detected events are decision support: accept or reject
them one by one (the selected rows) or all that are shown (after a question); an
accepted event becomes the technician's, with their name, in the session's log.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.scoring.events import Event, EventSource, EventType
from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber, fmt_clock
from app.gui.theme import Theme

DETECTED = "detected"  # the filter of detector events still to review
COLUMNS = ("Time", "Type", "Length", "Channel", "Source", "Confidence")


class EventList(QWidget, Subscriber):
    """Filter, search, jump, accept and reject."""

    def __init__(self, workspace: Workspace, theme: Theme, *,
                 on_detect: Callable[[], object] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self.kind = QComboBox()
        self.kind.addItem("All types", "")
        self.kind.addItem("Detected, to review", DETECTED)
        for t in EventType:
            self.kind.addItem(t.label, t.value)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search type, channel, scorer, text")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda idx: self.go_to_row(idx.row()))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.detect = QPushButton("Detect events")
        self.detect.setToolTip("Run the desaturation, apnea/hypopnea, limb-movement and "
                               "arousal detectors; what they find waits for your review.")
        self.detect.setEnabled(on_detect is not None)
        if on_detect is not None:
            self.detect.clicked.connect(on_detect)
        self.note_btn = QPushButton("Add note…")
        self.note_btn.setToolTip("An annotation at the current epoch (kept in the session, "
                                 "never written into the study file)")
        self.note_btn.clicked.connect(lambda: self.add_note())
        self.edit_btn = QPushButton("Edit text…")
        self.edit_btn.clicked.connect(lambda: self.edit_text())
        self.accept_btn = QPushButton("Accept")
        self.reject_btn = QPushButton("Reject")
        self.accept_all = QPushButton("Accept all shown…")
        self.reject_all = QPushButton("Reject all shown…")
        self.accept_btn.clicked.connect(lambda: self.review(self.selected_ids(), True))
        self.reject_btn.clicked.connect(lambda: self.review(self.selected_ids(), False))
        self.accept_all.clicked.connect(lambda: self.review_shown(True))
        self.reject_all.clicked.connect(lambda: self.review_shown(False))
        top = QHBoxLayout()
        top.addWidget(self.kind)
        top.addWidget(self.search, 1)
        buttons = QHBoxLayout()
        for b in (self.detect, self.note_btn, self.edit_btn, self.accept_btn,
                  self.reject_btn, self.accept_all, self.reject_all):
            b.setFocusPolicy(Qt.NoFocus)
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)
        lay.addLayout(buttons)
        self.kind.currentIndexChanged.connect(lambda _: self.refresh())
        self.search.textChanged.connect(lambda _: self.refresh())
        self._indices: str | None = None  # recomputed when events or stages change, not
        #                                   on every keystroke in the search box
        self._subscribe(workspace.events.scored_events, lambda ev: self._events_changed())
        # stages change the hours of sleep the indices divide by: the summary follows
        # after scoring pauses (a key press must not rebuild the list)
        self._summary_timer = QTimer(self, singleShot=True, interval=300)
        self._summary_timer.timeout.connect(self._update_summary)
        self._subscribe(workspace.events.stages, lambda ev: self._stages_changed())
        self.shown: list[tuple[int, Event]] = []
        self.refresh()

    # -- filtering ----------------------------------------------------------------------
    def matches(self, ev: Event) -> bool:
        kind = self.kind.currentData()
        if kind == DETECTED and ev.source != EventSource.DETECTOR:
            return False
        if kind and kind != DETECTED and ev.type.value != kind:
            return False
        words = self.search.text().strip().lower().split()
        hay = " ".join([ev.type.label, *ev.channels, ev.scorer, ev.text,
                        ev.source.value]).lower()
        return all(w in hay for w in words)

    def refresh(self) -> None:
        events = self.ws.events_list
        self.shown = [(i, e) for i, e in events if self.matches(e)]
        self.table.setRowCount(len(self.shown))
        for r, (ev_id, ev) in enumerate(self.shown):
            cells = (fmt_clock(self.ws.clock(ev.onset), ev.onset),
                     ev.type.label if ev.type != EventType.OTHER or not ev.text else ev.text,
                     f"{ev.duration:.1f} s", ", ".join(ev.channels) or "—",
                     ev.source.value + (f" ({ev.scorer})" if ev.scorer else ""),
                     "" if ev.confidence is None else f"{ev.confidence:.0%}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, ev_id)
                self.table.setItem(r, c, item)
        self._update_summary(events)

    def _stages_changed(self) -> None:
        self._indices = None
        self._summary_timer.start()

    def _update_summary(self, events: list[tuple[int, Event]] | None = None) -> None:
        events = self.ws.events_list if events is None else events
        n_det = sum(e.source == EventSource.DETECTOR for _, e in events)
        self.summary.setText(f"{len(self.shown)} of {len(events)} events shown; "
                             f"{n_det} detected event(s) wait for review.<br>"
                             f"{self._indices_line()}" if events else
                             "No events yet: mark them in the events view, import a file, "
                             "or run the detectors.")

    def _events_changed(self) -> None:
        self._indices = None
        self.refresh()

    def _indices_line(self) -> str:
        if self._indices is None:
            self._indices = self.indices_text()
        return self._indices

    def indices_text(self) -> str:
        """The indices in one line: yours, and the detector's apart."""
        idx = self.ws.event_indices()
        short = {"ahi": "AHI", "odi3": "ODI3", "odi4": "ODI4", "arousal_index": "arousals",
                 "plmi": "PLMI"}

        def line(table) -> str:
            return " · ".join(f"{name} {table.overall[k].format().split(' (')[0]}"
                              for k, name in short.items() if k in table.overall)
        text = f"<b>Scored</b>: {line(idx.scored)}"
        if idx.detector is not None:
            text += f"<br><i>Detector (not reviewed)</i>: {line(idx.detector)}"
        return text

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.shown[r][0] for r in rows if r < len(self.shown)]

    # -- moving -------------------------------------------------------------------------
    def go_to_row(self, row: int) -> None:
        if 0 <= row < len(self.shown):
            ev = self.shown[row][1]
            self.ws.set_epoch(int(ev.onset // self.ws.epoch_sec))

    def step(self, direction: int) -> Event | None:
        """The next (1) or previous (-1) shown event after the current epoch; go there."""
        here = self.ws.epoch
        order = self.shown if direction > 0 else list(reversed(self.shown))
        for row_ev in order:
            e = int(row_ev[1].onset // self.ws.epoch_sec)
            if (e > here) if direction > 0 else (e < here):
                self.ws.set_epoch(e)
                return row_ev[1]
        return None

    # -- annotations ----------------------------------------------------------------------
    def add_note(self, text: str | None = None) -> int | None:
        """An annotation (type "other" with its text) at the current epoch's onset."""
        if text is None:
            from PySide6.QtWidgets import QInputDialog

            text, ok = QInputDialog.getText(self, "Add a note", "Note at this epoch:")
            if not ok:
                return None
        text = text.strip()
        if not text:
            return None
        onset = self.ws.epoch * self.ws.epoch_sec
        return self.ws.add_event(Event(EventType.OTHER, onset, 0.0, (),
                                       EventSource.TECHNICIAN, self.ws.scorer, text=text))

    def edit_text(self, text: str | None = None) -> bool:
        """Change the text of the selected event (a study annotation's edited copy is
        yours; the study file is never written)."""
        ids = self.selected_ids()
        if len(ids) != 1:
            return False
        ev = self.ws.scored_events[ids[0]]
        if text is None:
            from PySide6.QtWidgets import QInputDialog

            text, ok = QInputDialog.getText(self, "Edit the text", "Text:", text=ev.text)
            if not ok:
                return False
        self.ws.change_event(ids[0], text=text.strip())
        return True

    # -- review -------------------------------------------------------------------------
    def review(self, ids: list[int], accept: bool) -> int:
        """Accept or reject the detector events among ``ids``; returns how many."""
        by_id = self.ws.scored_events
        ids = [i for i in ids if i in by_id and by_id[i].source == EventSource.DETECTOR]
        if ids:
            (self.ws.accept_detected if accept else self.ws.reject_detected)(ids)
        return len(ids)

    def review_shown(self, accept: bool, *, ask: bool = True) -> int:
        ids = [i for i, e in self.shown if e.source == EventSource.DETECTOR]
        if not ids:
            return 0
        if ask:
            verb = "Accept" if accept else "Reject"
            box = QMessageBox(QMessageBox.Question, f"{verb} detected events",
                              f"{verb} the {len(ids)} detected event(s) shown? "
                              + ("They become yours, each still to be checked; "
                                 if accept else "They are removed; ")
                              + "one undo (Ctrl+Z) takes this back.",
                              QMessageBox.NoButton, self)
            box.setObjectName("psglens-bulk-events")
            go = box.addButton(f"{verb} {len(ids)}", QMessageBox.AcceptRole)
            box.addButton(QMessageBox.Cancel)
            box.setDefaultButton(QMessageBox.Cancel)
            box.exec()
            if box.clickedButton() is not go:
                return 0
        return self.review(ids, accept)
