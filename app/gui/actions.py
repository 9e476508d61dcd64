"""The key map: one table, used by the window's actions and by the F1 shortcut sheet.

Number-row and keypad digits are separate keys to Qt ("1" and "Num+1"); both are bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Binding:
    name: str
    text: str
    keys: tuple[str, ...]
    group: str
    checkable: bool = False


KEYMAP: tuple[Binding, ...] = (
    # scoring: each advances to the next epoch when auto-advance is on (Settings)
    Binding("score_w", "Score Wake", ("W", "0", "Num+0"), "Scoring"),
    Binding("score_n1", "Score N1", ("1", "Num+1"), "Scoring"),
    Binding("score_n2", "Score N2", ("2", "Num+2"), "Scoring"),
    Binding("score_n3", "Score N3", ("3", "Num+3"), "Scoring"),
    Binding("score_rem", "Score REM", ("R", "5", "Num+5"), "Scoring"),
    Binding("artifact", "Mark artifact", ("A",), "Scoring"),
    Binding("accept", "Accept the model's stage", ("Return", "Num+Enter", "Space"), "Scoring"),
    Binding("accept_unscored", "Accept the model for every unscored epoch",
            ("Ctrl+Shift+A",), "Scoring"),
    Binding("lights_off", "Lights off at this epoch", ("Ctrl+L",), "Scoring"),
    Binding("lights_on", "Lights on after this epoch", ("Ctrl+Shift+L",), "Scoring"),
    Binding("undo", "Undo", ("Ctrl+Z",), "Scoring"),
    Binding("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Scoring"),
    # events (the events view: drag on a row to select, then a key; Shift+letter, as Alt+
    # letter opens the menus)
    Binding("ev_obstructive", "Mark the selection an obstructive apnea", ("Shift+O",), "Events"),
    Binding("ev_central", "Mark the selection a central apnea", ("Shift+C",), "Events"),
    Binding("ev_mixed", "Mark the selection a mixed apnea", ("Shift+X",), "Events"),
    Binding("ev_hypopnea", "Mark the selection a hypopnea", ("Shift+H",), "Events"),
    Binding("ev_desaturation", "Mark the selection a desaturation", ("Shift+S",), "Events"),
    Binding("ev_arousal", "Mark the selection an arousal", ("Shift+A",), "Events"),
    Binding("ev_limb", "Mark the selection a limb movement", ("Shift+L",), "Events"),
    Binding("ev_delete", "Delete the selected event", ("Delete",), "Events"),
    Binding("ev_next", "Next event of the listed type", ("]",), "Events"),
    Binding("ev_prev", "Previous event of the listed type", ("[",), "Events"),
    Binding("ev_timebase", "Events view: 2 min / 5 min", ("Shift+T",), "Events"),
    # moving
    Binding("next", "Next epoch", ("Right",), "Navigate"),
    Binding("prev", "Previous epoch", ("Left",), "Navigate"),
    Binding("page_next", "Next page", ("PgDown",), "Navigate"),
    Binding("page_prev", "Previous page", ("PgUp",), "Navigate"),
    Binding("jump_next", "Forward 10 epochs (5 min)", ("Down",), "Navigate"),
    Binding("jump_prev", "Back 10 epochs (5 min)", ("Up",), "Navigate"),
    Binding("first", "First epoch", ("Home",), "Navigate"),
    Binding("last", "Last epoch", ("End",), "Navigate"),
    Binding("next_low", "Next unsure epoch (low confidence, or YASA disagrees)", ("U",),
            "Navigate"),
    Binding("prev_low", "Previous unsure epoch", ("Shift+U",), "Navigate"),
    Binding("next_dis", "Next model/technician disagreement", ("D",), "Navigate"),
    Binding("prev_dis", "Previous disagreement", ("Shift+D",), "Navigate"),
    # view
    Binding("window_30", "30-s window", ("Ctrl+1",), "View", True),
    Binding("window_60", "60-s window", ("Ctrl+2",), "View", True),
    Binding("window_300", "5-min window", ("Ctrl+3",), "View", True),
    Binding("context", "Show neighbouring epochs", ("C",), "View", True),
    Binding("filters", "AASM filters", ("F",), "View", True),
    Binding("heatmap", "Show the heatmap", ("E",), "View", True),
    Binding("gain_up", "Larger traces (all rows; wheel over a row: that row)",
            ("=", "+", "Num++"), "View"),
    Binding("gain_down", "Smaller traces", ("-", "Num+-"), "View"),
    Binding("zoom_night", "Whole night in the hypnogram", ("Ctrl+0",), "View"),
    # files
    Binding("open", "Open study…", ("Ctrl+O",), "File"),
    Binding("save", "Save", ("Ctrl+S",), "File"),
    Binding("import", "Import a scorer's hypnogram…", ("Ctrl+I",), "File"),
    Binding("import_events", "Import events…", ("Ctrl+Shift+I",), "File"),
    Binding("export", "Export…", ("Ctrl+E",), "File"),
    Binding("channel_map", "Channel mapping…", ("Ctrl+M",), "File"),
    Binding("montage", "Montage…", ("Ctrl+Shift+E",), "View"),
    Binding("settings", "Settings…", ("Ctrl+,",), "File"),
    Binding("close", "Close study", ("Ctrl+W",), "File"),
    Binding("quit", "Quit", ("Ctrl+Q",), "File"),
    # model
    Binding("run", "Run the model on the whole night", ("Ctrl+R",), "Model"),
    Binding("run_range", "Run the model on a range…", ("Ctrl+Shift+R",), "Model"),
    Binding("yasa", "Second opinion from YASA", ("Ctrl+Shift+Y",), "Model"),
    Binding("cancel", "Stop the running model", ("Esc",), "Model"),
    Binding("model_manager", "Model manager…", ("Ctrl+Shift+M",), "Model"),
    Binding("shortcuts", "Keyboard shortcuts", ("F1",), "Help"),
)

BINDINGS = {b.name: b for b in KEYMAP}
GROUPS = ("Scoring", "Events", "Navigate", "View", "File", "Model", "Help")


def install(window: QWidget, handlers: dict[str, Callable[[], object]]) -> dict[str, QAction]:
    """One QAction per binding with a handler, added to ``window`` (window shortcuts)."""
    actions = {}
    for b in KEYMAP:
        handler = handlers.get(b.name)
        if handler is None:
            continue
        act = QAction(b.text, window)
        act.setShortcuts([QKeySequence(k) for k in b.keys])
        act.setShortcutContext(Qt.WindowShortcut)
        act.setCheckable(b.checkable)
        if b.checkable:
            act.toggled.connect(lambda on, h=handler: h(on))
        else:
            act.triggered.connect(lambda _=False, h=handler: h())
        window.addAction(act)
        actions[b.name] = act
    return actions


def key_text(b: Binding) -> str:
    return ", ".join(QKeySequence(k).toString(QKeySequence.NativeText) for k in b.keys)
