"""The main window: menus, toolbar, banner, the study view and the status bar, wired to
the controller and the workspace. It decides nothing itself."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QSlider,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.core.scoring.stages import Stage
from app.core.scoring.study_identity import SessionReadOnlyError
from app.errors import PSGLensError
from app.gui.actions import GROUPS, KEYMAP, install
from app.gui.controller import Controller
from app.gui.dialogs.messages import show_error
from app.gui.qt_status import Banner, RunProgress, StudyStatus
from app.gui.study_view import StudyView
from app.gui.theme import apply_palette, get_theme

TITLE = "PSG Lens"
WELCOME = ("<h2>PSG Lens</h2><p>Open a study with <b>Ctrl+O</b>, or start "
           "<code>psg-lens demo</code> for a synthetic night.</p>"
           "<p>Press <b>F1</b> for the keyboard shortcuts.</p>")


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        controller.ask_truncated = self.ask_open_truncated
        s = controller.settings
        self.theme = get_theme(s.theme, s.stage_colors)
        self.heat_visible = True
        self.study_view: StudyView | None = None
        self.study_status: StudyStatus | None = None
        self.setWindowTitle(TITLE)
        self.banner = Banner(self.theme)
        self.review_banner = Banner(self.theme)  # a study opened read-only, and why
        self.review_banner.setObjectName("review-banner")
        self.welcome = QLabel(WELCOME)
        self.welcome.setAlignment(Qt.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.review_banner)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.run_progress = RunProgress(controller.cancel_run)
        self.statusBar().addPermanentWidget(self.run_progress)
        self.actions = install(self, self._handlers())
        self._group_window_actions()
        self._build_menus()
        self._build_toolbar()
        controller.workspace_changed.connect(self.set_workspace)
        controller.error.connect(self.show_error)
        controller.message.connect(lambda text: self.statusBar().showMessage(text, 12000))
        controller.progress.connect(self.run_progress.set_progress)
        controller.progress.connect(lambda done, total, rate:
                                    self.actions["cancel"].setEnabled(total > 0))
        self.actions["cancel"].setEnabled(False)
        controller.model_changed.connect(self.update_model_status)
        controller.mapping_needed.connect(self.edit_channel_map)
        controller.night_ready.connect(self._night_ready)
        controller.night_failed.connect(lambda text: self.study_view is not None
                                        and self.study_view.spectrogram.failed(text))
        self.update_model_status()
        self.set_workspace(controller.workspace)

    # -- wiring ---------------------------------------------------------------------------
    def _ws(self, method: str, *args, **kw):
        """Call a workspace method; errors become a dialog, never a traceback."""
        ws = self.c.workspace
        if ws is None:
            self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
            return None
        try:
            return getattr(ws, method)(*args, **kw)
        except SessionReadOnlyError as err:  # the banner says so already: no box per key
            self.statusBar().showMessage(str(err), 8000)
        except PSGLensError as err:
            self.show_error(str(err))
        except (sqlite3.Error, OSError) as err:
            self.show_error(f"The change could not be saved ({err}); free disk space or "
                            "check the session file, then try again.")
        return None

    def _handlers(self) -> dict:
        ws = self._ws
        h = {f"score_{k}": (lambda st=st: ws("score", st)) for k, st in
             (("w", Stage.W), ("n1", Stage.N1), ("n2", Stage.N2), ("n3", Stage.N3),
              ("rem", Stage.REM))}
        h.update({
            "artifact": lambda: ws("mark_artifact"), "accept": lambda: ws("accept_model"),
            "accept_unscored": self.accept_unscored,
            "undo": lambda: ws("undo"), "redo": lambda: ws("redo"),
            "lights_off": self.lights_off, "lights_on": self.lights_on,
            "next": lambda: ws("step", 1), "prev": lambda: ws("step", -1),
            "page_next": lambda: ws("page", 1), "page_prev": lambda: ws("page", -1),
            "jump_next": lambda: ws("step", 10), "jump_prev": lambda: ws("step", -10),
            "first": lambda: ws("set_epoch", 0), "last": lambda: ws("set_epoch", 10 ** 9),
            "next_low": lambda: ws("next_low_confidence", 1),
            "prev_low": lambda: ws("next_low_confidence", -1),
            "next_dis": lambda: ws("next_disagreement", 1),
            "prev_dis": lambda: ws("next_disagreement", -1),
            "window_30": lambda on: on and ws("set_view", window_sec=30.0),
            "window_60": lambda on: on and ws("set_view", window_sec=60.0),
            "window_300": lambda on: on and ws("set_view", window_sec=300.0),
            "context": lambda on: self._set_view(context=on),
            "filters": lambda on: self._set_view(filters=on),
            "heatmap": self.set_heat_visible,
            "gain_up": lambda: self._traces("change_gain", 1.25),
            "gain_down": lambda: self._traces("change_gain", 0.8),
            "zoom_night": lambda: self.study_view and self.study_view.hypnogram.zoom_all(),
            "open": self.open_dialog, "save": self.c.save, "import": self.import_dialog,
            "import_events": self.import_events_dialog, "montage": self.montage_dialog,
            "export": self.export_dialog, "channel_map": lambda: self.edit_channel_map(None),
            "settings": self.settings_dialog, "close": self.c.close_study, "quit": self.close,
            "run": self.c.run_model, "run_range": self.run_range_dialog,
            "yasa": lambda: self.c.run_model(kind="yasa"), "cancel": self.c.cancel_run,
            "model_manager": self.model_manager_dialog, "shortcuts": self.shortcut_sheet,
        })
        from app.core.scoring.events import EventType as T

        for name, kind in (("ev_obstructive", T.OBSTRUCTIVE_APNEA),
                           ("ev_central", T.CENTRAL_APNEA), ("ev_mixed", T.MIXED_APNEA),
                           ("ev_hypopnea", T.HYPOPNEA), ("ev_desaturation", T.DESATURATION),
                           ("ev_arousal", T.AROUSAL), ("ev_limb", T.LIMB_MOVEMENT)):
            h[name] = lambda k=kind: self._events("view", "mark", k)
        h.update({
            "ev_delete": lambda: self._events("view", "delete_selected"),
            "ev_next": lambda: self._events("list", "step", 1),
            "ev_prev": lambda: self._events("list", "step", -1),
            "ev_timebase": lambda: self._events("view", "toggle_timebase"),
        })
        return h

    def _events(self, which: str, method: str, *args):
        """Call the events view or list; errors become a sentence, never a traceback."""
        sv = self.study_view
        if sv is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        target = sv.events_view if which == "view" else sv.event_list
        try:
            out = getattr(target, method)(*args)
        except SessionReadOnlyError as err:
            self.statusBar().showMessage(str(err), 8000)
            return None
        except PSGLensError as err:
            self.show_error(str(err))
            return None
        except (sqlite3.Error, OSError) as err:
            self.show_error(f"The change could not be saved ({err}); free disk space or "
                            "check the session file, then try again.")
            return None
        if method == "mark" and out is None:
            self.statusBar().showMessage("Drag on a row of the events view first to select "
                                         "the stretch to mark.", 6000)
        return out

    def _set_view(self, **kw) -> None:
        ws = self.c.workspace
        if ws is not None and any(getattr(ws.view, k) != v for k, v in kw.items()):
            self._ws("set_view", **kw)

    def _traces(self, method: str, *args) -> None:
        if self.study_view is not None:
            getattr(self.study_view.traces, method)(*args)

    def _group_window_actions(self) -> None:
        group = QActionGroup(self)
        for name in ("window_30", "window_60", "window_300"):
            group.addAction(self.actions[name])
        self.actions["heatmap"].setChecked(True)
        self.actions["filters"].setChecked(True)

    def _build_menus(self) -> None:
        titles = {"Scoring": "&Scoring", "Events": "E&vents", "Navigate": "&Navigate",
                  "View": "&View", "File": "&File", "Model": "&Model", "Help": "&Help"}
        menus = {g: self.menuBar().addMenu(titles[g]) for g in
                 ("File", *(g for g in GROUPS if g not in ("File", "Model", "Help")),
                  "Model", "Help")}
        for b in KEYMAP:
            if b.name in self.actions:
                menus[b.group].addAction(self.actions[b.name])
            if b.name == "export":
                self.recent_menu = menus["File"].addMenu("Open recent")
                self.recent_menu.aboutToShow.connect(self._fill_recent)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.c.settings.recent_files:
            self.recent_menu.addAction(path, lambda p=path: self.c.open_study(p))

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        a = self.actions
        short = {"open": "Open", "run": "Run model", "cancel": "Stop", "window_30": "30 s",
                 "window_60": "60 s", "window_300": "5 min", "context": "Context",
                 "filters": "Filters", "heatmap": "Heatmap (E)", "prev_low": "◀ Unsure",
                 "next_low": "Unsure ▶ (U)", "next_dis": "Disagree ▶ (D)",
                 "export": "Export", "shortcuts": "Keys (F1)"}
        for name in ("open", "run", "cancel", None, "window_30", "window_60", "window_300",
                     "context", "filters", None, "heatmap"):
            if name is None:
                tb.addSeparator()
                continue
            a[name].setIconText(short[name])
            tb.addAction(a[name])
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(int(self.c.settings.heatmap_opacity * 100))
        self.opacity.setFixedWidth(110)
        self.opacity.setToolTip("Heatmap opacity")
        self.opacity.setFocusPolicy(Qt.NoFocus)
        self.opacity.valueChanged.connect(self.set_heat_opacity)
        tb.addWidget(self.opacity)
        tb.addSeparator()
        for name in ("prev_low", "next_low", "next_dis", None, "export", "shortcuts"):
            if name is None:
                tb.addSeparator()
                continue
            a[name].setIconText(short[name])
            tb.addAction(a[name])
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.NoFocus)

    # -- the study ------------------------------------------------------------------------
    def set_workspace(self, ws) -> None:
        if self.study_view is not None:
            self.study_view.detach()
            self.stack.removeWidget(self.study_view)
            self.study_view.deleteLater()
            self.study_view = None
        if self.study_status is not None:
            self.study_status.detach()
            self.statusBar().removeWidget(self.study_status)
            self.study_status.deleteLater()
            self.study_status = None
        self.review_banner.set_message("", "")
        self.statusBar().clearMessage()  # the last study's notices are not this one's
        if ws is None:
            self.setWindowTitle(TITLE)
            self.stack.setCurrentWidget(self.welcome)
            return
        self.setWindowTitle(f"{TITLE} — {ws.path.name}" + (" (read-only)" if ws.read_only
                                                           else ""))
        if ws.read_only:
            self.review_banner.set_message(
                "review", f"Read-only review: {ws.read_only}, so this study's scoring can be "
                "looked at but not changed. To score it, copy the study and its .psglens file "
                "to a folder you can write to.")
        self.study_view = StudyView(ws, self.theme, fallback_spec=self.c.model_spec(),
                                    heat_opacity=self.opacity.value() / 100,
                                    on_import=self.import_dialog,
                                    words={"request": self.c.request_words,
                                           "cancel": self.c.cancel_words,
                                           "pending": lambda: self.c.words_pending},
                                    on_detect=self.c.detect_events)
        self.study_view.set_heat_visible(self.heat_visible)
        self.study_view.traces.set_paper_scale(self.c.settings.eeg_uv_per_mm,
                                               self.c.settings.mm_per_s)
        self.stack.addWidget(self.study_view)
        self.stack.setCurrentWidget(self.study_view)
        self.study_status = StudyStatus(ws)
        self.statusBar().addPermanentWidget(self.study_status)
        self._sync_view_actions(ws)

    def _sync_view_actions(self, ws) -> None:
        name = {30.0: "window_30", 60.0: "window_60", 300.0: "window_300"}.get(
            ws.view.window_sec, "window_30")
        for key, on in ((name, True), ("context", ws.view.context),
                        ("filters", ws.view.filters)):
            act = self.actions[key]
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)

    def set_heat_visible(self, on: bool) -> None:
        self.heat_visible = bool(on)
        self.c.set_explain_enabled(self.heat_visible)
        if self.study_view is not None:
            self.study_view.set_heat_visible(self.heat_visible)
        act = self.actions["heatmap"]
        if act.isChecked() != self.heat_visible:
            act.setChecked(self.heat_visible)

    def set_heat_opacity(self, value: int) -> None:
        self.c.settings.heatmap_opacity = value / 100
        if self.study_view is not None:
            self.study_view.set_heat_opacity(value / 100)

    def update_model_status(self) -> None:
        self.banner.set_message(*self.c.model_status())
        if self.study_view is not None:
            self.study_view.set_fallback_spec(self.c.model_spec())

    def apply_theme(self) -> None:
        s = self.c.settings
        self.theme = get_theme(s.theme, s.stage_colors)
        apply_palette(QApplication.instance(), self.theme)
        self.banner.theme = self.review_banner.theme = self.theme
        self.update_model_status()
        self.set_workspace(self.c.workspace)  # widgets take their theme in __init__

    def show_error(self, text: str) -> None:
        show_error(self, text)

    # -- dialogs --------------------------------------------------------------------------
    def open_dialog(self) -> None:
        from app.gui.dialogs.open_study import OpenStudyDialog

        dlg = OpenStudyDialog(self.c.settings.recent_files, self)
        if dlg.exec() and dlg.path:
            self.c.open_study(dlg.path)

    def import_dialog(self) -> None:
        if self.c.workspace is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        path, _ = QFileDialog.getOpenFileName(self, "Import another scorer's hypnogram",
                                              str(self.c.workspace.path.parent))
        if path:
            self.c.import_hypnogram(path, ask=self.ask_import)

    def accept_unscored(self) -> None:
        """Ctrl+Shift+A fills many epochs at once: say how many and from which run first."""
        from PySide6.QtWidgets import QMessageBox

        ws = self.c.workspace
        if ws is None or ws.active_run is None:
            return self.statusBar().showMessage("There is no model run to accept.", 5000)
        n = len(ws.unscored_the_model_staged())
        if n == 0:
            return self.statusBar().showMessage("No unscored epoch has a model stage to "
                                                "accept.", 5000)
        box = QMessageBox(QMessageBox.Question, "Accept the model's stages",
                          f"Accept {ws.active_run.bundle_id}'s stage for the {n} epoch(s) you "
                          "have not scored? Each of them should still be reviewed; one undo "
                          "(Ctrl+Z) takes them all back.", QMessageBox.NoButton, self)
        box.setObjectName("psglens-bulk-accept")
        go = box.addButton(f"Accept {n} epochs", QMessageBox.AcceptRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(QMessageBox.Cancel)
        box.exec()
        if box.clickedButton() is go:
            self._ws("accept_model_unscored")

    def _night_ready(self, spec) -> None:
        if self.study_view is not None:
            self.study_view.spectrogram.set_spectrogram(spec)
            self.study_view.evidence.set_ready()

    def montage_dialog(self) -> None:
        from app.gui.dialogs.montage import MontageDialog

        if self.c.workspace is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        MontageDialog(self.c.workspace, self).exec()

    def lights_off(self) -> None:
        """Ctrl+L: the recording period starts at the current epoch (statistics, report)."""
        ws = self.c.workspace
        if ws is not None and self._ws("set_lights", off_epoch=ws.epoch) is not None:
            self.statusBar().showMessage(f"Lights off at epoch {ws.epoch + 1}; the "
                                         "statistics and the report start there.", 6000)

    def lights_on(self) -> None:
        """Ctrl+Shift+L: the recording period ends after the current epoch."""
        ws = self.c.workspace
        if ws is not None and self._ws("set_lights", on_epoch=ws.epoch + 1) is not None:
            self.statusBar().showMessage(f"Lights on after epoch {ws.epoch + 1}; the "
                                         "statistics and the report end there.", 6000)

    def import_events_dialog(self) -> None:
        if self.c.workspace is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        path, _ = QFileDialog.getOpenFileName(
            self, "Import scored events (NSRR or Profusion XML, BIDS events.tsv, CSV, EDF+)",
            str(self.c.workspace.path.parent))
        if path:
            self.c.import_events(path)

    def ask_open_truncated(self, question: str) -> bool:
        """A file cut short: open the part that is there, or not (the default)."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Warning, "Open a truncated study", question,
                          QMessageBox.NoButton, self)
        box.setObjectName("psglens-truncated-question")
        go = box.addButton("Open the part that is there", QMessageBox.AcceptRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(QMessageBox.Cancel)
        box.exec()
        return box.clickedButton() is go

    def ask_import(self, question: str) -> bool:
        """Unknown labels or a hypnogram that does not match the study: go on, or not."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Question, "Import a hypnogram", question,
                          QMessageBox.NoButton, self)
        box.setObjectName("psglens-import-question")
        go = box.addButton("Fit it" if "Fit it" in question else "Import as Unscored",
                           QMessageBox.AcceptRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(QMessageBox.Cancel)  # Enter never changes what is imported
        box.exec()
        return box.clickedButton() is go

    def export_dialog(self) -> None:
        from app.gui.dialogs.export import ExportDialog

        if self.c.workspace is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        ExportDialog(self.c, self).exec()

    def edit_channel_map(self, reasons) -> None:
        from app.gui.dialogs.channel_map import ChannelMapDialog

        if self.c.workspace is not None:
            ChannelMapDialog(self.c.workspace, reasons or [], self).open()

    def settings_dialog(self) -> None:
        from app.gui.dialogs.settings import SettingsDialog

        dlg = SettingsDialog(self.c.settings, self)
        if dlg.exec():
            old = self.c.settings
            self.c.settings = dlg.result_settings()
            self.c.apply_settings()
            if self.study_view is not None:
                self.study_view.traces.set_paper_scale(self.c.settings.eeg_uv_per_mm,
                                                       self.c.settings.mm_per_s)
            if (old.theme, old.stage_colors) != (self.c.settings.theme,
                                                 self.c.settings.stage_colors):
                self.apply_theme()

    def run_range_dialog(self) -> None:
        from app.gui.dialogs.run_range import RunRangeDialog

        ws = self.c.workspace
        if ws is None:
            return self.statusBar().showMessage("Open a study first (Ctrl+O).", 5000)
        dlg = RunRangeDialog(ws.n_epochs, ws.epoch, min(ws.n_epochs - 1, ws.epoch + 119), self)
        if dlg.exec():
            self.c.run_model(dlg.epochs())

    def model_manager_dialog(self) -> None:
        from app.gui.dialogs.model_manager import ModelManagerDialog

        ModelManagerDialog(self.c, self).exec()

    def shortcut_sheet(self) -> None:
        from app.gui.dialogs.shortcuts import ShortcutSheet

        sheet = ShortcutSheet(self)
        sheet.setAttribute(Qt.WA_DeleteOnClose)
        sheet.open()

    def closeEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        self.set_workspace(None)
        self.c.shutdown()
        super().closeEvent(ev)
