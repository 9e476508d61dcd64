"""A study whose session sits on a read-only share opens for review: a banner says so
and why, keys and model runs are refused with a sentence, nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH, FakeEngine, fake_bundle  # noqa: E402

from app.config import Settings  # noqa: E402
from app.core.scoring import study_identity  # noqa: E402
from app.core.scoring.stages import Stage  # noqa: E402
from app.core.workspace import Workspace  # noqa: E402
from app.gui.app import create_window  # noqa: E402


def test_read_only_share_opens_with_a_review_banner(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt

    from app.core.synth import make_study_file

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    share = tmp_path / "share"
    share.mkdir()
    study = share / "night.edf"
    make_study_file(study, stages=TRUTH, seed=4, sfreq=100.0)
    ws = Workspace.open(study, who="tech-day")
    ws.score(Stage.N3, epoch=0, advance=False)
    ws.close()
    session = Path(str(study) + ".psglens")
    sha = hashlib.sha256(session.read_bytes()).hexdigest()
    share.chmod(0o555)
    real = study_identity._folder_writable
    monkeypatch.setattr(study_identity, "_folder_writable",
                        lambda f: False if Path(f) == share else real(f))
    errors: list[str] = []
    try:
        s = Settings(default_bundle=str(fake_bundle(tmp_path / "bundle")), scorer_id="tech-night")
        w = create_window(s, engine_factory=FakeEngine)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)  # window shortcuts need the active window
        w.c.error.connect(errors.append)
        assert w.c.open_study(study)
        assert w.windowTitle().endswith("(read-only)")
        assert w.review_banner.isVisible()
        text = w.review_banner.label.text()
        assert "Read-only review" in text and str(share) in text and "copy the study" in text
        assert w.c.workspace.technician.stages[0] == Stage.N3  # the colleague's scoring
        qtbot.keyClick(w, Qt.Key_2)  # refused in the status bar, not a box per key
        assert w.c.workspace.technician.stages[0] == Stage.N3
        assert "read-only" in w.statusBar().currentMessage()
        assert w.c.run_model() is None and "read-only" in errors[-1]
        w.close()
    finally:
        share.chmod(0o755)
    assert hashlib.sha256(session.read_bytes()).hexdigest() == sha
    assert not Path(str(session) + ".lock").exists()


def test_a_study_open_elsewhere_opens_read_only_naming_who_holds_it(qtbot, tmp_path,
                                                                    monkeypatch):
    from app.core.synth import make_study_file

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    study = tmp_path / "night.edf"
    make_study_file(study, stages=TRUTH, seed=4, sfreq=100.0)
    colleague = Workspace.open(study, who="tech-day")  # another window, another program
    try:
        colleague.score(Stage.N1, epoch=2, advance=False)
        s = Settings(default_bundle=str(fake_bundle(tmp_path / "bundle")), scorer_id="me")
        w = create_window(s, engine_factory=FakeEngine)
        qtbot.addWidget(w)
        w.show()
        assert w.c.open_study(study)
        text = w.review_banner.label.text()
        assert w.review_banner.isVisible() and "it is open by" in text and "pid" in text
        assert w.c.workspace.technician.stages[2] == Stage.N1
        w.close()
        colleague.score(Stage.N2, epoch=3, advance=False)  # untouched by the review
    finally:
        colleague.close()
