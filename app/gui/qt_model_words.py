"""'In the model's words': the rationale and AASM rules a chat model wrote for the epoch.

Shown under "What mattered" when the active run is a model that answers in words
(SleepVLM). After a fast run (stages read with the rationale left empty) the button asks
the model to write its rationale for this epoch now; it can be stopped while it writes.
The widget only shows the workspace's run and asks through the callbacks it is given
(the controller's ``request_words`` / ``cancel_words``).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.workspace import Workspace
from app.gui.qt_common import Subscriber
from app.gui.theme import Theme


class ModelWords(QWidget, Subscriber):
    """The current epoch's written answer, and the button that asks for one."""

    def __init__(self, workspace: Workspace, theme: Theme, *,
                 request: Callable[[int], object] | None = None,
                 cancel: Callable[[], None] | None = None,
                 pending: Callable[[], int | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.theme = workspace, theme
        self._request, self._cancel = request, cancel
        self._pending = pending or (lambda: None)
        self.title = QLabel("<b>In the model's words</b>")
        self.text = QLabel()
        self.text.setTextFormat(Qt.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.button = QPushButton("Write the rationale")
        self.button.setFocusPolicy(Qt.NoFocus)  # the keyboard belongs to scoring
        self.button.setToolTip("Ask the model to write why it chose this stage (it reads "
                               "the stage after its own rationale). Click again to stop.")
        self.button.clicked.connect(self._clicked)
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.text)
        for emitter in (workspace.events.epoch, workspace.events.runs,
                        workspace.events.model, workspace.events.answers):
            self._subscribe(emitter, lambda ev: self.refresh())
        self.refresh()

    def _clicked(self) -> None:
        if self._pending() is not None:
            if self._cancel is not None:
                self._cancel()
        elif self._request is not None:
            self._request(self.ws.epoch)
        self.refresh()

    def refresh(self) -> None:
        if self.ws.session.closed:
            return
        run = self.ws.active_run
        if run is None or not run.mode:
            self.setVisible(False)  # a one-picture model or YASA writes nothing
            return
        self.setVisible(True)
        e = self.ws.epoch
        answer = run.answer(e)
        writing = self._pending() == e
        muted = self.theme.muted
        if writing:
            body = f"<i style='color:{muted}'>The model is writing…</i>"
        elif answer is None:
            body = f"<i style='color:{muted}'>{html.escape(self._why_none(run, e))}</i>"
        else:
            body = self._answer_html(answer)
        self.text.setText(body)
        has_words = answer is not None and bool(answer.get("rationale"))
        stageable = "Context only" not in run.epoch_note(e)
        self.button.setText("Stop writing" if writing else "Write the rationale")
        self.button.setEnabled(writing or (stageable and not has_words
                                           and self._request is not None))

    @staticmethod
    def _why_none(run, e: int) -> str:
        note = run.epoch_note(e)
        if "Context only" in note:
            return note
        return "Not scored yet." if int(run.hypnogram.stages[e]) < 0 else "No answer kept."

    def _answer_html(self, a: dict) -> str:
        muted = self.theme.muted
        parts = []
        if a.get("rationale"):
            parts.append(html.escape(a["rationale"]))
        elif str(a.get("mode", "")).startswith("fast"):
            parts.append(f"<i style='color:{muted}'>Fast run: the stage was read with the "
                         "rationale left empty. Write the rationale to see the model's "
                         "reasons for this epoch.</i>")
        if a.get("stage") is None:
            parts.append(f"<span style='color:{self.theme.mark_low}'>&#9888; "
                         f"{html.escape(a.get('note') or 'The model gave no stage.')}</span>")
        rules = a.get("rules") or []
        if rules:
            parts.append(f"<span style='color:{muted}'>Rules cited: "
                         f"{html.escape(', '.join(rules))}</span>")
        stage = a.get("stage")
        parts.append(f"<span style='color:{muted}'>Its answer: {html.escape(stage or '-')} "
                     f"· {html.escape(str(a.get('mode', '')))} · decision support, not a "
                     "diagnosis</span>")
        return "<br>".join(parts)
