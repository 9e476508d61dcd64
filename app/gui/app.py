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
    try:
        window = MainWindow(controller)
    except BaseException:
        controller.shutdown()  # a running worker thread destroyed at exit aborts Qt
        raise
    for note in settings.notes:
        window.statusBar().showMessage(note, 12000)
    return window


def run_model_unless_done(controller, kind: str = "vlm") -> int | None:
    """Start a run of the chosen model (``kind`` "vlm") or of YASA ("yasa"); the model is
    not run again on a study that already has a complete run of it. Returns the job id."""
    ws = controller.workspace
    if ws is None:
        return None
    if kind == "vlm":
        status, _ = controller.model_status()
        if status not in ("ok", "synthetic"):
            return None  # the banner says why
        name = controller.bundle().scorer_id
        done = [r for r in ws.runs if r.bundle_id == name and r.n_done == ws.n_epochs]
        if done:
            ws.set_active_run(done[-1].run_id)
            return None
    return controller.run_model(kind=kind)


def run_gui(study: str | Path | None = None, *, run_model: bool | str = False,
            settings=None, engine_factory=None, quit_after: float | None = None) -> int:
    """Open the window (and ``study``); with ``run_model`` (True or "vlm": the chosen
    model; "yasa": the YASA second opinion) score it in the worker.

    ``quit_after``: close that many seconds after the window is shown (and the model run,
    if any, has ended), printing what the window shows and what the run scored; the
    installer's smoke test uses it. Returns 1 if the study did not open or the run failed.
    """
    from app.crash_log import send_logging_to_file, stop_logging_to_file
    from app.gui.qt_errors import ErrorReporter

    app = make_app()
    send_logging_to_file()
    try:
        try:
            window = create_window(settings, engine_factory=engine_factory)
        except Exception as err:  # noqa: BLE001 (a bug: one sentence, the rest in the log)
            return _start_up_failed(err, quiet=quit_after is not None)
        reporter = ErrorReporter(lambda: window, window)
        reporter.install()
        try:
            return _show_and_run(app, window, reporter, study, run_model, quit_after)
        finally:
            reporter.uninstall()
    finally:
        stop_logging_to_file()


def _start_up_failed(err: Exception, *, quiet: bool) -> int:
    """The window could not be built: one sentence on the terminal and in a box."""
    from PySide6.QtWidgets import QMessageBox

    from app.crash_log import log_exception, unexpected

    text = unexpected(err, log_exception("psg-lens gui (start-up)", err))
    print(f"psg-lens gui: error: PSG Lens could not start: {text}", file=sys.stderr,
          flush=True)
    if not quiet:  # the smoke test (--quit-after) must never wait for a click
        QMessageBox.critical(None, "PSG Lens could not start", f"PSG Lens could not start: "
                             f"{text}")
    return 3


def _show_and_run(app, window, reporter, study, run_model, quit_after) -> int:
    app.aboutToQuit.connect(window.c.shutdown)  # also when quit without closing the window
    screen = app.primaryScreen().availableGeometry()
    if screen.width() < 1700 or screen.height() < 1100:
        window.setGeometry(screen)  # a scoring screen wants every pixel (also without
        window.showMaximized()      # a window manager, which ignores "maximized")
    else:
        window.resize(1600, 1000)
        window.show()
    try:
        opened = study is not None and window.c.open_study(study)
    except Exception as err:  # noqa: BLE001 (a bug, not the study: the window stays up)
        reporter.report(err, "opening the study")
        opened = False
    kind = "vlm" if run_model is True else (run_model or None)
    job = run_model_unless_done(window.c, kind) if opened and kind else None
    failed: list[str] = []
    if quit_after is not None:
        _report_and_quit(window, study, float(quit_after), failed, job)
    code = int(app.exec())
    return 1 if failed else code


def _report_and_quit(window, study, seconds: float, failed: list[str], job: int | None
                     ) -> None:
    from PySide6.QtCore import QTimer

    state = {"shown": False, "running": job is not None}

    def close_when_done() -> None:
        if state["shown"] and not state["running"]:
            QTimer.singleShot(int(max(seconds, 0) * 1000), window.close)

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
        state["shown"] = True
        close_when_done()

    def finished(job_id: int, info: dict) -> None:
        if job_id != job:
            return
        ws = window.c.workspace
        run = ws.runs[-1] if ws is not None and ws.runs else None
        print(f"model run: {run.bundle_id if run else None} scored "
              f"{run.n_done if run else 0} of {ws.n_epochs if ws else 0} epochs", flush=True)
        if run is not None and run.check_summary():
            print(run.check_summary(), flush=True)
        state["running"] = False
        close_when_done()

    def run_failed(job_id: int, text: str) -> None:
        if job_id == job:
            print(f"model run failed: {text}", flush=True)
            failed.append("run")
            state["running"] = False
            close_when_done()

    # connected now (after the controller's own slots): a run may end at any time
    window.c.worker.finished.connect(finished)
    window.c.worker.failed.connect(run_failed)
    QTimer.singleShot(0, report)  # runs once the event loop (and the first paint) starts
