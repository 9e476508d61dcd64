"""QApplication set-up (high-DPI, Fusion, theme) and the entry point of the GUI."""

from __future__ import annotations

import sys
from pathlib import Path

import app.gui  # noqa: F401  (applies the PySide6 6.12 signal workaround first)

DEMO_NAME = "psg-lens-demo-night.edf"


def make_app(argv: list[str] | None = None):
    """The QApplication (created once), with high-DPI scaling that is not rounded."""
    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from app.resources import resource_path

    app = QApplication.instance()
    if app is None:
        # fractional scale factors (125 %, 150 %) stay crisp instead of being rounded
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setApplicationName("PSG Lens")
        app.setOrganizationName("PSG Lens")
        app.setApplicationDisplayName("PSG Lens")
        app.setDesktopFileName("psg-lens")  # Wayland/X11 match it to psg-lens.desktop
        icon = resource_path("icons", "psg-lens.png")
        if icon.is_file():
            app.setWindowIcon(QIcon(str(icon)))
    pg.setConfigOptions(antialias=False, useOpenGL=False)
    return app


def create_window(settings=None, *, engine_factory=None):
    """Controller + main window, themed; returns the window (``window.c`` the controller)."""
    from app.config import load_settings
    from app.gui.controller import Controller
    from app.gui.main_window import MainWindow
    from app.gui.theme import apply_palette, get_theme

    app = make_app()
    settings = settings if settings is not None else load_settings()
    apply_palette(app, get_theme(settings.theme, settings.stage_colors))
    controller = Controller(settings, engine_factory=engine_factory)
    window = MainWindow(controller)
    for note in settings.notes:
        window.statusBar().showMessage(note, 12000)
    return window


def run_model_unless_done(controller) -> bool:
    """Run the chosen model unless this study already has a complete run of it."""
    kind, _ = controller.model_status()
    ws = controller.workspace
    if ws is None or kind not in ("ok", "synthetic"):
        return False  # the banner says why
    bundle = controller.bundle()
    done = [r for r in ws.runs if r.bundle_id == bundle.scorer_id and r.n_done == ws.n_epochs]
    if done:
        ws.set_active_run(done[-1].run_id)
        return False
    return controller.run_model() is not None


def run_gui(study: str | Path | None = None, *, run_model: bool = False,
            settings=None, engine_factory=None, quit_after: float | None = None) -> int:
    """Open the window (and ``study``); with ``run_model`` score it in the worker.

    ``quit_after``: close that many seconds after the window is shown, printing one line
    about what it shows (title, study, epochs); the installer's smoke test uses it.
    """
    app = make_app()
    window = create_window(settings, engine_factory=engine_factory)
    screen = app.primaryScreen().availableGeometry()
    if screen.width() < 1700 or screen.height() < 1100:
        window.setGeometry(screen)  # a scoring screen wants every pixel (also without
        window.showMaximized()      # a window manager, which ignores "maximized")
    else:
        window.resize(1600, 1000)
        window.show()
    opened = study is not None and window.c.open_study(study)
    if opened and run_model:
        run_model_unless_done(window.c)
    failed: list[str] = []
    if quit_after is not None:
        _report_and_quit(window, study, float(quit_after), failed)
    code = int(app.exec())
    return 1 if failed else code


def _report_and_quit(window, study, seconds: float, failed: list[str]) -> None:
    from PySide6.QtCore import QTimer

    def report() -> None:
        ws = window.c.workspace
        if study is not None and ws is None:
            print(f"window shown; the study {study} did not open (the window says why)",
                  flush=True)
            failed.append("study")
            window.close()  # the normal way out: the model worker is stopped first
            return
        shown = window.isVisible() and window.windowTitle().startswith("PSG Lens")
        print(f"window shown: {shown}; title: {window.windowTitle()!r}; study: "
              f"{ws.recording.path.name if ws else None}; epochs: "
              f"{ws.n_epochs if ws else 0}", flush=True)
        QTimer.singleShot(int(max(seconds, 0) * 1000), window.close)

    QTimer.singleShot(0, report)  # runs once the event loop (and the first paint) starts
