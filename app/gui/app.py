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
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # fractional scale factors (125 %, 150 %) stay crisp instead of being rounded
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setApplicationName("PSG Lens")
        app.setOrganizationName("PSG Lens")
        app.setApplicationDisplayName("PSG Lens")
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
            settings=None, engine_factory=None) -> int:
    """Open the window (and ``study``); with ``run_model`` score it in the worker."""
    app = make_app()
    window = create_window(settings, engine_factory=engine_factory)
    screen = app.primaryScreen().availableGeometry()
    if screen.width() < 1700 or screen.height() < 1100:
        window.setGeometry(screen)  # a scoring screen wants every pixel (also without
        window.showMaximized()      # a window manager, which ignores "maximized")
    else:
        window.resize(1600, 1000)
        window.show()
    if study is not None and window.c.open_study(study) and run_model:
        run_model_unless_done(window.c)
    return int(app.exec())
