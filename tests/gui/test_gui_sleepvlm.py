"""The GUI with a SleepVLM-shaped model: the run keeps what it wrote, "In the model's
words" shows it beside "What mattered", and after a fast run it writes on demand."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from models import TAUGHT_RATIONALE, cached, sleepvlm_bundle, sleepvlm_study  # noqa: E402

from app.config import Settings  # noqa: E402
from app.core.workspace import Workspace  # noqa: E402
from app.gui.app import create_window, run_model_unless_done  # noqa: E402
from app.gui.workers import default_engine_factory  # noqa: E402

N = 6


@pytest.fixture
def window(qtbot, tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    bundle = cached(sleepvlm_bundle, tmp_path_factory, True)
    windows = []

    def make(mode: str = ""):
        s = Settings(default_bundle=str(bundle), device="cpu", batch_size=4, answer_mode=mode)
        w = create_window(s, engine_factory=default_engine_factory)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        windows.append(w)
        assert w.c.open_study(sleepvlm_study(tmp_path / "night.edf", N))
        return w

    yield make
    for w in windows:
        if w.c.workspace is not None or w.c.worker._thread.isRunning():
            w.close()


def _run(qtbot, w):
    assert run_model_unless_done(w.c)
    qtbot.waitUntil(lambda: not w.c.worker.busy, timeout=120000)
    return w.c.workspace.active_run


def test_a_rationale_run_shows_the_models_words_for_each_epoch(qtbot, window):
    w = window()
    run = _run(qtbot, w)
    assert run.mode == "rationale" and run.answer(2)["rationale"] == TAUGHT_RATIONALE
    words = w.study_view.words
    w.c.workspace.set_epoch(2)
    qtbot.waitUntil(lambda: TAUGHT_RATIONALE in words.text.text())
    assert words.isVisible() and "Rules cited: N2.1, N2.3" in words.text.text()
    assert not words.button.isEnabled()  # it already wrote its reasons
    ws = w.c.workspace  # the heatmap: Qwen patches mapped back onto the target picture
    qtbot.waitUntil(lambda: ws.explanation_for(2) is not None, timeout=60000)
    assert ws.explanation_for(2).heat.shape == (224, 448)
    w.c.workspace.set_epoch(0)
    qtbot.waitUntil(lambda: "Context only" in words.text.text())
    assert "did not stage" in w.study_view.model_view.summary.text()
    path = w.c.workspace.path
    w.c.close_study()
    again = Workspace.open(path)  # the words were on disk with the run
    try:
        assert again.active_run.answer(3)["rules"] == ["N2.1", "N2.3"]
    finally:
        again.close()


def test_after_a_fast_run_the_rationale_is_written_on_demand(qtbot, window):
    w = window("fast")
    run = _run(qtbot, w)
    assert run.mode == "fast" and run.answer(3)["rationale"] == ""
    words = w.study_view.words
    w.c.workspace.set_epoch(3)
    qtbot.waitUntil(lambda: "Fast run" in words.text.text())
    assert words.button.isEnabled() and words.button.text() == "Write the rationale"
    words.button.click()
    qtbot.waitUntil(lambda: TAUGHT_RATIONALE in words.text.text(), timeout=60000)
    assert run.answer(3)["mode"] == "rationale (on demand)"
    assert w.c.workspace.session.model_answers(run.run_id)[3]["rationale"] == TAUGHT_RATIONALE
    assert np.isfinite(run.hypnogram.probabilities[3]).all()


def test_a_one_picture_model_shows_no_words_panel(qtbot, tmp_path, tmp_path_factory,
                                                  monkeypatch):
    from models import full_bundle

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    s = Settings(default_bundle=str(cached(full_bundle, tmp_path_factory)), device="cpu",
                 batch_size=4, answer_mode="rationale")  # ignored: it has one way to ask
    w = create_window(s, engine_factory=default_engine_factory)
    qtbot.addWidget(w)
    w.show()
    assert w.c.open_study(sleepvlm_study(tmp_path / "n.edf", 4))
    assert run_model_unless_done(w.c)
    qtbot.waitUntil(lambda: not w.c.worker.busy, timeout=60000)
    assert w.c.workspace.active_run.mode is None and not w.study_view.words.isVisible()
    w.close()


def test_a_scorer_name_changed_in_settings_reaches_the_open_study(qtbot, tmp_path,
                                                                  monkeypatch):
    """The audit trail said 'root' after the name was set (issue 14, item 10)."""
    import dataclasses

    from app.core.scoring.stages import Stage

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    w = create_window(Settings(scorer_id=""), engine_factory=default_engine_factory)
    qtbot.addWidget(w)
    w.show()
    assert w.c.open_study(sleepvlm_study(tmp_path / "n.edf", 4))
    ws = w.c.workspace
    w.c.settings = dataclasses.replace(w.c.settings, scorer_id="tech-07")
    w.c.apply_settings()
    ws.score(Stage.N2, 1)
    assert ws.session.edits()[-1].who == "tech-07" and ws.scorer == "tech-07"
    assert w.study_status.scorer_label.text() == "Scorer: tech-07"
    w.close()
