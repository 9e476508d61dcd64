"""The window never aborts: a bug in a handler or at start-up is one sentence with the
log's path (the traceback goes to psg-lens.log), the session stays intact, the worker
thread is stopped, and a full disk in the autosave or on close is a sentence too."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH, FakeEngine, fake_bundle  # noqa: E402

from app.config import Settings  # noqa: E402
from app.core.scoring.stages import Stage  # noqa: E402
from app.gui import workers  # noqa: E402
from app.gui.app import run_gui  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("aborts") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=3, sfreq=100.0)
    return path


@pytest.fixture
def logs(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "log"
    monkeypatch.setenv("PSG_LENS_LOG_DIR", str(folder))
    return folder / "psg-lens.log"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    return Settings(default_bundle=str(fake_bundle(tmp_path / "bundle")), scorer_id="tech-a")


@pytest.fixture
def window(scoring_window):
    return scoring_window


def shown(w, name: str = "psglens-error") -> list[str]:
    from PySide6.QtWidgets import QMessageBox

    return [b.text() for b in w.findChildren(QMessageBox) if b.isVisible()
            and b.objectName() == name]


@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_slot_is_a_sentence_and_the_log_keeps_the_traceback(qtbot, window, logs):
    from PySide6.QtCore import QObject, Signal

    from app.gui.qt_errors import ErrorReporter

    reporter = ErrorReporter(lambda: window, window)
    reporter.install()
    said: list[str] = []
    reporter.reported.connect(said.append)

    class Poke(QObject):
        fired = Signal()

    def broken_handler() -> None:
        raise KeyError("epoch_map")

    poke = Poke()
    poke.fired.connect(broken_handler)  # Qt calls sys.excepthook and carries on
    try:
        poke.fired.emit()
        poke.fired.emit()
    finally:
        reporter.uninstall()
    assert len(said) == 2 and "KeyError" in said[0] and str(logs) in said[0]
    boxes = shown(window, "psglens-unexpected")
    assert len(boxes) == 1 and "Your scoring is safe" in boxes[0]  # one box, not two
    text = logs.read_text()
    assert "Traceback" in text and "broken_handler" in text and "epoch_map" in text
    # the window goes on: the next key press is scored and on disk
    ws = window.c.workspace
    window._ws("score", Stage.N2)
    assert ws.technician.stages[0] == Stage.N2 and not ws.session.closed


@pytest.mark.qt_no_exception_capture
def test_a_bug_in_another_thread_reaches_the_window_through_a_signal(qtbot, window, logs):
    from app.gui.qt_errors import ErrorReporter

    reporter = ErrorReporter(lambda: window, window)
    reporter.install()
    said: list[str] = []
    reporter.reported.connect(said.append)

    def crash() -> None:
        raise ValueError("bad chunk")

    try:
        t = threading.Thread(target=crash, name="loader")
        t.start()
        t.join()
        qtbot.waitUntil(lambda: said != [])
    finally:
        reporter.uninstall()
    assert "ValueError: bad chunk" in said[0]
    assert "loader" in logs.read_text()


def test_start_up_failure_is_a_sentence_with_the_worker_stopped(monkeypatch, settings, logs,
                                                                capfd):
    def broken_window(self, controller):
        raise RuntimeError("toolbar icon missing")

    monkeypatch.setattr("app.gui.main_window.MainWindow.__init__", broken_window)
    before = set(workers._LIVE)
    code = run_gui(None, settings=settings, engine_factory=FakeEngine, quit_after=0)
    err = capfd.readouterr().err
    assert code == 3
    assert "PSG Lens could not start" in err and "RuntimeError: toolbar icon missing" in err
    assert str(logs) in err and "Traceback" not in err
    assert "Traceback" in logs.read_text()
    assert set(workers._LIVE) <= before  # its model worker thread was stopped, not leaked


def test_worker_tracebacks_go_to_the_log_not_the_terminal(logs, capfd):
    from app.crash_log import send_logging_to_file, stop_logging_to_file

    path = send_logging_to_file()
    try:
        try:
            raise ZeroDivisionError("in a batch")
        except ZeroDivisionError:
            logging.getLogger("app.gui.workers").exception("model run 3 failed")
        assert send_logging_to_file() == path  # installed once
    finally:
        stop_logging_to_file()
    assert path == logs and "ZeroDivisionError: in a batch" in logs.read_text()
    assert "Traceback" not in capfd.readouterr().err


def test_full_disk_in_the_autosave_and_on_close_is_a_sentence(qtbot, window, monkeypatch):
    ws = window.c.workspace
    ws.score(Stage.N3, epoch=1, advance=False)
    errors: list[str] = []
    window.c.error.connect(errors.append)

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ws.session, "set_state", full)
    ws.set_epoch(5)  # the position changed: the autosave has something to write
    window.c.save_state()  # what the timer calls
    assert len(errors) == 1 and "database or disk is full" in errors[0]
    assert "Every edit made so far is in the session file" in errors[0]
    assert not window.c._autosave.isActive()  # said once, not every 30 s
    ws.score(Stage.REM, epoch=2, advance=False)  # scoring goes on
    ws.set_epoch(6)
    lock = Path(str(ws.session.path) + ".lock")
    window.c.close_study()  # the final save fails too: said, and the session still closes
    assert len(errors) == 2 and "Closing the session" in errors[1]
    assert ws.session.closed and not lock.exists()
    from app.core.scoring.session import ScoringSession

    with ScoringSession.open(ws.path, n_epochs=ws.n_epochs) as again:
        stages = again.technician_hypnogram().stages
        assert stages[1] == Stage.N3 and stages[2] == Stage.REM
