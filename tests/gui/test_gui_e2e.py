"""End to end, offscreen: open a synthetic study, run a model in the worker, score with
the keyboard, undo, redo, artifact, jump to uncertain and disagreeing epochs, export,
close, reopen: everything restored. Then the same with a real tiny model bundle.

The fake engine below exists only here: it stands in for a model so the GUI's paths
are tested in seconds; the last test runs the real StageEngine."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_fakes import SPEC, TRUTH, FakeEngine, N, fake_bundle  # noqa: E402, F401
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.config import Settings  # noqa: E402
from app.core.formats import read_hypnogram  # noqa: E402
from app.core.scoring.stages import Stage  # noqa: E402
from app.errors import ModelError  # noqa: E402
from app.gui.app import create_window, run_model_unless_done  # noqa: E402
from app.gui.workers import OUT_OF_MEMORY  # noqa: E402

EXPLAIN_WAIT_MS = 1500  # longer than the controller's delay before it explains an epoch

@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("e2e") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=5, sfreq=100.0)
    return path


@pytest.fixture
def study(study_master, tmp_path) -> Path:
    dst = tmp_path / "night.edf"
    dst.write_bytes(study_master.read_bytes())
    return dst


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    return Settings(scorer_id="tech-e2e", default_bundle=str(fake_bundle(tmp_path / "bundle")),
                    low_confidence=0.5)


@pytest.fixture
def make_window(qtbot):
    windows = []

    def make(settings, factory=FakeEngine):
        w = create_window(settings, engine_factory=factory)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)  # window shortcuts need the active window
        windows.append(w)
        return w

    yield make
    for w in windows:
        if w.c.workspace is not None or w.c.worker._thread.isRunning():
            w.close()


def press(qtbot, window, key, modifier=Qt.NoModifier) -> None:
    qtbot.keyClick(window, key, modifier)


def on_disk(session: Path) -> list[tuple[int, int, str]]:
    con = sqlite3.connect(f"file:{session}?mode=ro", uri=True)
    try:
        return con.execute("SELECT epoch, new, kind FROM edits ORDER BY id").fetchall()
    finally:
        con.close()


def errors(window) -> list[str]:
    return [b.text() for b in window.findChildren(QMessageBox) if b.isVisible()]


def wait_idle(qtbot, window, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: not window.c.worker.busy, timeout=timeout)


def test_score_a_night_with_the_keyboard_then_reopen(qtbot, make_window, settings, study,
                                                     tmp_path):
    w = make_window(settings)
    assert w.windowTitle().startswith("PSG Lens")
    assert w.banner.isVisible() and "synthetic signals only" in w.banner.label.text()
    assert w.c.open_study(study)
    ws = w.c.workspace
    assert w.windowTitle() == "PSG Lens — night.edf"
    session = ws.session.path
    # run the model (Ctrl+R): batches stream in through the worker
    press(qtbot, w, Qt.Key_R, Qt.ControlModifier)
    wait_idle(qtbot, w)
    assert ws.active_run.n_done == N and ws.active_run.bundle_id == "fake-vlm/1"
    assert np.array_equal(ws.model.stages[:5], TRUTH[:5])
    # number row and keypad, each scoring key advances
    plain, num = Qt.NoModifier, Qt.KeypadModifier
    keys = [(Qt.Key_W, plain, Stage.W), (Qt.Key_1, plain, Stage.N1),
            (Qt.Key_2, plain, Stage.N2), (Qt.Key_3, num, Stage.N3), (Qt.Key_R, plain, Stage.REM),
            (Qt.Key_0, num, Stage.W), (Qt.Key_5, plain, Stage.REM)]
    for i, (key, mod, stage) in enumerate(keys):
        press(qtbot, w, key, mod)
        assert ws.technician.stages[i] == stage and ws.epoch == i + 1
        assert on_disk(session)[-1][:2] == (i, int(stage))  # on disk before the next key
    # accept the model's stage (Space and Enter)
    press(qtbot, w, Qt.Key_Space)
    press(qtbot, w, Qt.Key_Return)
    assert list(ws.technician.stages[7:9]) == list(TRUTH[7:9]) and ws.epoch == 9
    assert on_disk(session)[-1][2] == "accept"
    # artifact, undo, redo
    press(qtbot, w, Qt.Key_A)
    assert ws.technician.stages[9] == Stage.ARTIFACT
    press(qtbot, w, Qt.Key_Z, Qt.ControlModifier)
    assert ws.technician.stages[9] == Stage.UNSCORED and ws.epoch == 9
    press(qtbot, w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert ws.technician.stages[9] == Stage.ARTIFACT
    # moving
    ws.set_epoch(10)
    for key, expect in ((Qt.Key_Right, 11), (Qt.Key_Left, 10), (Qt.Key_PageDown, 11),
                        (Qt.Key_Down, 21), (Qt.Key_Up, 11), (Qt.Key_End, N - 1),
                        (Qt.Key_Home, 0)):
        press(qtbot, w, key)
        assert ws.epoch == expect, key
    # U: next uncertain epoch (every 6th, from 5); D: next disagreement (epoch 1 is N1
    # for the technician, W for the model)
    press(qtbot, w, Qt.Key_U)
    assert ws.epoch == 5
    press(qtbot, w, Qt.Key_U)
    assert ws.epoch == 11
    press(qtbot, w, Qt.Key_D)
    assert ws.epoch == 1  # wrapped around to the first disagreement
    # E toggles the heatmap in both views
    heat = np.zeros((SPEC.height, SPEC.width))
    heat[:16, :48] = 1.0
    ws.set_explanation(ws.epoch, heat, SPEC)
    traces = w.study_view.traces
    assert traces.heat.isVisible()
    press(qtbot, w, Qt.Key_E)
    assert not traces.heat.isVisible() and not w.study_view.model_view.image.overlay_visible
    press(qtbot, w, Qt.Key_E)
    assert traces.heat.isVisible()
    # Ctrl+S says that everything is saved
    press(qtbot, w, Qt.Key_S, Qt.ControlModifier)
    assert "Saved" in w.statusBar().currentMessage()
    # export CSV and NSRR XML, read them back
    csv, xml = tmp_path / "out.csv", tmp_path / "out.xml"
    assert w.c.export_hypnogram(csv, "csv") and w.c.export_hypnogram(xml, "nsrr")
    for path in (csv, xml):
        back = read_hypnogram(path)
        assert np.array_equal(back.stages, ws.technician.stages), path
    assert read_hypnogram(csv).probabilities is not None
    assert errors(w) == []
    expected = ws.technician.stages.copy()
    w.close()  # closes the study and the worker
    # reopen: position, runs, edits restored
    w2 = make_window(settings)
    assert w2.c.open_study(study)
    ws2 = w2.c.workspace
    assert ws2.epoch == 1 and np.array_equal(ws2.technician.stages, expected)
    assert [r.bundle_id for r in ws2.runs] == ["fake-vlm/1"] and ws2.active_run.n_done == N
    assert str(study) in w2.c.settings.recent_files[0]
    assert "Epoch 2" in w2.study_view.traces.header.text()


def test_range_run_second_opinion_agreement_and_imports(qtbot, make_window, settings,
                                                        study, tmp_path):
    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    def factory(request):
        return FakeEngine(request, shift=0 if request.kind == "vlm" else 1)

    w = make_window(settings, factory)
    w.c.open_study(study)
    ws = w.c.workspace
    w.c.run_model(list(range(5, 13)))
    wait_idle(qtbot, w)
    assert ws.active_run.n_done == 8 and ws.model.stages[4] == Stage.UNSCORED
    assert ws.active_run.meta["range"] == [5, 12]
    w.c.run_model(kind="yasa")
    wait_idle(qtbot, w)
    assert [r.bundle_id for r in ws.runs] == ["fake-vlm/1", "fake-yasa/1"]
    compare = w.study_view.compare
    qtbot.waitUntil(lambda: "Run #1 vs run #2" in compare.run_text.text())
    assert compare.runs.count() == 2
    a = ws.run_agreement(*[r.run_id for r in ws.runs])
    assert a.n_epochs == 8 and a.accuracy < 0.5  # the second opinion is shifted
    # another scorer's hypnogram: agreement and a jump list of disagreements
    other = TRUTH.copy()
    other[[3, 7]] = (other[[3, 7]] + 1) % 5
    path = tmp_path / "scorer-b.csv"
    write_hypnogram(Hypnogram(other, scorer="scorer-B"), path)
    ws.set_epoch(0)
    for _ in range(10):
        ws.score(TRUTH[ws.epoch])
    assert w.c.import_hypnogram(path) is not None
    qtbot.waitUntil(lambda: compare.jumps.count() == 2)
    assert "scorer-B" in compare.scorer_text.text()
    compare._jump(compare.jumps.item(1))
    assert ws.epoch == 7
    assert errors(w) == []


def test_cancel_keeps_what_was_scored_and_the_gui_stays_live(qtbot, make_window, settings,
                                                            study):
    w = make_window(settings, lambda r: FakeEngine(r, delay=0.15, batch=2))
    w.c.open_study(study)
    ws = w.c.workspace
    w.c.run_model()
    qtbot.waitUntil(lambda: ws.active_run is not None and ws.active_run.n_done >= 2,
                    timeout=5000)
    t0 = time.perf_counter()
    ws.step(1)  # the GUI thread is free while the model runs
    qtbot.keyClick(w, Qt.Key_2)
    assert time.perf_counter() - t0 < 1.0
    assert w.run_progress.isVisible()
    qtbot.keyClick(w, Qt.Key_Escape)
    wait_idle(qtbot, w)
    done = ws.active_run.n_done
    assert 2 <= done < N and ws.active_run.meta.get("stopped") is True
    assert not w.run_progress.isVisible()
    assert ws.session.model_hypnogram().stages[:done].min() >= 0  # kept in the session


def test_model_errors_are_one_sentence_and_keep_the_session(qtbot, make_window, settings,
                                                            study):
    def broken(request):
        raise ModelError("The model bundle cannot be loaded: its weights are damaged.")

    w = make_window(settings, broken)
    w.c.open_study(study)
    ws = w.c.workspace
    ws.score(Stage.N2, epoch=0, advance=False)
    w.c.run_model()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: errors(w) != [])
    assert errors(w) == ["The model bundle cannot be loaded: its weights are damaged."]
    assert ws.runs == [] and ws.technician.stages[0] == Stage.N2
    for box in w.findChildren(QMessageBox):
        box.close()
    # out of memory half-way: one sentence, the batches before it are kept
    w.c.worker._worker._factory = lambda r: FakeEngine(r, fail_after=16)
    w.c.run_model()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: errors(w) != [])
    assert errors(w) == [OUT_OF_MEMORY]
    assert ws.active_run.n_done == 16 and not ws.session.closed


def test_unreadable_study_and_full_disk_leave_everything_as_it_was(qtbot, make_window,
                                                                   settings, study, tmp_path,
                                                                   monkeypatch):
    w = make_window(settings)
    w.c.open_study(study)
    ws = w.c.workspace
    ws.score(Stage.N3, epoch=2, advance=False)
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       " + b"garbage" * 20)
    assert not w.c.open_study(bad)
    qtbot.waitUntil(lambda: errors(w) != [])
    assert len(errors(w)) == 1 and "\n" not in errors(w)[0] and "broken.edf" in errors(w)[0]
    assert w.c.workspace is ws and not ws.session.closed and ws.technician.stages[2] == 3
    for box in w.findChildren(QMessageBox):
        box.close()

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.core.formats.write_hypnogram", full)
    assert not w.c.export_hypnogram(tmp_path / "x.csv", "csv")
    qtbot.waitUntil(lambda: errors(w) != [])
    assert errors(w) == ["Cannot write x.csv: No space left on device."]
    monkeypatch.setattr("app.core.report.write_report", full)
    assert not w.c.write_report(tmp_path / "r.pdf")
    assert ws.technician.stages[2] == Stage.N3 and not (tmp_path / "x.csv").exists()


def test_no_model_installed_scoring_by_hand(qtbot, make_window, settings, study,
                                            monkeypatch):
    monkeypatch.setattr("app.gui.controller.embedded_model_path",
                        lambda: study.parent / "no-such-model")
    settings.default_bundle = ""
    w = make_window(settings)
    kind, text = w.c.model_status()
    assert kind == "none" and w.banner.isVisible() and "No model is installed" in text
    w.c.open_study(study)
    assert not run_model_unless_done(w.c)
    qtbot.keyClick(w, Qt.Key_2)
    assert w.c.workspace.technician.stages[0] == Stage.N2
    assert "No model picture" in w.study_view.model_view.image.placeholder


def test_real_tiny_bundle_end_to_end(qtbot, make_window, tmp_path_factory, tmp_path,
                                     monkeypatch):
    pytest.importorskip("transformers")
    from models import cached, full_bundle
    from models import study as tiny_study

    from app.gui.workers import default_engine_factory

    bundle = cached(full_bundle, tmp_path_factory)
    path = tiny_study(tmp_path / "tiny.edf", n_epochs=8, sfreq=100.0)
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    s = Settings(default_bundle=str(bundle), device="cpu", batch_size=4)
    w = make_window(s, default_engine_factory)
    assert w.c.model_status()[0] == "synthetic"  # the test card says synthetic_only
    w.c.open_study(path)
    ws = w.c.workspace
    assert run_model_unless_done(w.c)
    wait_idle(qtbot, w, timeout=60000)
    assert errors(w) == [] and ws.active_run.n_done == 8
    assert ws.active_run.bundle_id == "tiny-llava-clinical/0.0.1"
    p = ws.model.probabilities
    assert np.allclose(p.sum(axis=1), 1, atol=1e-4)
    mv = w.study_view.model_view
    qtbot.waitUntil(lambda: mv.image.image is not None and mv.image.image.width() == 64)
    assert not run_model_unless_done(w.c)  # already complete: not run twice


def test_cli_offers_gui_and_demo_and_the_demo_night_is_made_once(tmp_path, monkeypatch):
    from app.cli import build_parser, sub_names
    from app.commands.demo import demo_study

    parser = build_parser()
    assert {"gui", "demo"} <= sub_names(parser)
    args = parser.parse_args(["gui", "night.edf"])
    assert args.study == "night.edf" and args.func.__module__ == "app.commands.gui"
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    path = demo_study(hours=0.1, seed=1)
    assert path.parent == tmp_path / "data" / "demo" and path.is_file()
    stamp = path.stat().st_mtime_ns
    assert demo_study(hours=0.1, seed=1) == path and path.stat().st_mtime_ns == stamp
    assert not list(path.parent.glob("*.part.edf"))


def test_yasa_second_opinion_runs_in_a_child_process(qtbot, make_window, settings, study):
    pytest.importorskip("yasa")
    from app.gui.workers import default_engine_factory

    w = make_window(settings, default_engine_factory)
    w.c.open_study(study)
    ws = w.c.workspace
    w.c.run_model(kind="yasa")
    wait_idle(qtbot, w, timeout=300000)  # numba compiles YASA on first use
    assert errors(w) == [] and ws.active_run.bundle_id.startswith("yasa/")
    assert ws.active_run.n_done == N and ws.active_run.spec is None
    assert np.allclose(ws.model.probabilities.sum(axis=1), 1, atol=1e-4)


def test_a_truncated_study_opens_its_complete_part_only_when_the_technician_agrees(
        qtbot, make_window, settings, study):
    data = study.read_bytes()
    cut = study.with_name("cut.edf")
    cut.write_bytes(data[: len(data) - 3000])  # a copy cut short inside the last epoch
    w = make_window(settings)
    assert w.c.ask_truncated == w.ask_open_truncated  # the window asks with a box
    asked, refused = [], []
    w.c.error.connect(refused.append)
    w.c.ask_truncated = lambda q: asked.append(q) or False
    assert not w.c.open_study(cut)
    assert "cut.edf is truncated" in asked[0] and "Open the part that is there?" in asked[0]
    assert w.c.workspace is None and "cut.edf is truncated" in refused[-1]
    said = []
    w.c.message.connect(said.append)
    w.c.ask_truncated = lambda q: True
    assert w.c.open_study(cut)
    ws = w.c.workspace
    assert ws.n_epochs == N - 1  # the complete epochs; the cut one is not there
    assert any("cut.edf is truncated: only the" in m for m in said)
    w.c.run_model()  # the worker reads the same complete part
    wait_idle(qtbot, w)
    assert ws.active_run.n_done == N - 1 and not refused[1:]


def test_a_cancelled_yasa_child_process_is_ended_not_waited_for(study):
    """Cancelling a fused run while YASA scores ends YASA's child at once: nothing staged,
    the run says it stopped, no child left behind."""
    pytest.importorskip("yasa")
    import multiprocessing

    from app.core.signals.recording import Recording
    from app.gui.workers import SubprocessYasa

    hyp = SubprocessYasa().score(Recording.open(study), should_stop=lambda: True)
    assert hyp.meta["stopped"] is True and (hyp.stages < 0).all()
    assert not [p for p in multiprocessing.active_children() if p.name == "psg-lens-yasa"]


def test_heatmap_follows_the_epoch_and_the_toggle(qtbot, make_window, tmp_path_factory,
                                                  tmp_path, monkeypatch):
    """With a real tiny model: after a run, the worker explains the epoch the user is on,
    the heatmap reaches the workspace (and so the views), E turns it off and on."""
    pytest.importorskip("captum")
    from models import cached, full_bundle
    from models import study as tiny_study

    from app.gui.workers import default_engine_factory

    bundle = cached(full_bundle, tmp_path_factory)
    path = tiny_study(tmp_path / "tiny.edf", n_epochs=8, sfreq=100.0)
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    s = Settings(default_bundle=str(bundle), device="cpu", batch_size=4,
                 explain_method="occlusion")
    w = make_window(s, default_engine_factory)
    w.c.open_study(path)
    ws = w.c.workspace
    assert run_model_unless_done(w.c)
    wait_idle(qtbot, w, timeout=60000)
    qtbot.waitUntil(lambda: ws.explanation_for() is not None, timeout=60000)
    ex = ws.explanation_for()
    spec = ws.active_run.spec
    assert ex.heat.shape == (spec.height, spec.width) and np.isfinite(ex.heat).all()
    assert ex.grid.shape[0] == len(spec.rows) and ex.grid.sum() > 0
    # move on: the next epoch gets its own heatmap
    qtbot.keyClick(w, Qt.Key_Right)
    qtbot.waitUntil(lambda: ws.explanation_for(ws.epoch) is not None, timeout=60000)
    assert ws.explanation_for().epoch == ws.epoch == 1
    # E off: no new requests while flipping
    w.set_heat_visible(False)
    qtbot.keyClick(w, Qt.Key_Right)
    qtbot.wait(EXPLAIN_WAIT_MS)
    assert ws.explanation_for(ws.epoch) is None
    w.set_heat_visible(True)
    qtbot.waitUntil(lambda: ws.explanation_for(ws.epoch) is not None, timeout=60000)
    assert errors(w) == []


# -- the smoke test an installation runs: psg-lens gui STUDY --quit-after S -------------
def test_quit_after_reports_the_shown_study_and_closes(qapp, study, settings, capsys):
    from app.gui.app import run_gui

    rc = run_gui(study, settings=settings, engine_factory=FakeEngine, quit_after=0)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert rc == 0
    assert line == f"window shown: True; title: 'PSG Lens — {study.name}'; " \
                   f"study: {study.name}; epochs: {N}"
    assert not [w for w in qapp.topLevelWidgets() if w.isVisible()]


def test_quit_after_fails_when_the_study_does_not_open(qapp, tmp_path, settings, capsys):
    from app.gui.app import run_gui

    missing = tmp_path / "gone.edf"
    rc = run_gui(missing, settings=settings, engine_factory=FakeEngine, quit_after=0)
    assert rc == 1 and f"the study {missing} did not open" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["vlm", "yasa"])
def test_quit_after_waits_for_the_model_run_and_reports_it(qapp, study, settings, capsys, kind):
    from app.gui.app import run_gui

    rc = run_gui(study, settings=settings, engine_factory=lambda r: FakeEngine(r, delay=0.05),
                 run_model=kind, quit_after=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and lines[-2].startswith("window shown: True")
    assert lines[-1] == f"model run: fake-{kind}/1 scored {N} of {N} epochs"


def test_quit_after_fails_when_the_model_run_fails(qapp, study, settings, capsys):
    from app.gui.app import run_gui

    rc = run_gui(study, settings=settings, engine_factory=lambda r: FakeEngine(r, fail_after=8),
                 run_model=True, quit_after=0)
    assert rc == 1 and "model run failed: " in capsys.readouterr().out


def test_input_check_runs_before_the_model_and_its_verdicts_stay_with_the_run(
        qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch):
    """No usable EEG in epochs 2-3: the GUI run does not stage them, says why in the model
    view, and the verdict is in the session (it survives reopening)."""
    pytest.importorskip("transformers")
    from conftest import write_edf
    from models import cached, full_bundle

    from app.core.synth import synthesize
    from app.core.workspace import Workspace
    from app.gui.workers import default_engine_factory

    study = synthesize(np.resize([0, 2, 2, 3, 4], 8), seed=2, sfreq=100.0)
    sigs = {c.name: (c.data.astype(float), c.sfreq) for c in study.channels}
    for name in ("F4-M1", "C4-M1", "O2-M1"):
        sigs[name][0][2 * 3000:4 * 3000] = 5.0  # flat EEG
    path = write_edf(tmp_path / "flat.edf", sigs)
    bundle = cached(full_bundle, tmp_path_factory)
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    w = make_window(Settings(default_bundle=str(bundle), device="cpu", batch_size=4),
                    default_engine_factory)
    seen: list[str] = []
    w.c.message.connect(seen.append)
    w.c.open_study(path)
    ws = w.c.workspace
    assert run_model_unless_done(w.c)
    wait_idle(qtbot, w, timeout=60000)
    assert errors(w) == []
    stages = ws.model.stages
    assert (stages[2:4] == Stage.UNSCORED).all() and (stages[[0, 1, 4, 5, 6, 7]] >= 0).all()
    assert np.allclose(ws.model.probabilities[2:4], 0.2)
    assert {2, 3} <= set(ws.low_confidence_epochs().tolist())  # U jumps to them
    ws.set_epoch(2)
    qtbot.waitUntil(lambda: "did not stage" in w.study_view.model_view.summary.text())
    assert "F4-M1 is flat" in w.study_view.model_view.summary.text()
    assert any("2 epoch(s) not staged" in m for m in seen)
    w.c.close_study()
    again = Workspace.open(path)
    try:
        assert "No usable EEG" in again.active_run.epoch_note(3)
        assert again.active_run.epoch_note(0) == ""
    finally:
        again.close()


def _single_lead_run(qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch,
                     **settings):
    """A C3-A1-only study scored in the window by a model whose card found YASA better
    with that lead; the window once the run is done."""
    pytest.importorskip("transformers")
    from models import cached, full_bundle

    from app.core.synth import make_study_file
    from app.gui.workers import default_engine_factory

    path = tmp_path / "single.edf"
    make_study_file(path, stages=np.resize([0, 2, 3, 4], 6), seed=1, montage="single-c3",
                    sfreq=100.0)
    import shutil

    from app.core.inference.bundle_writer import editing_card

    bundle = Path(shutil.copytree(cached(full_bundle, tmp_path_factory), tmp_path / "b"))
    with editing_card(bundle) as card:  # a card that measured YASA better on one lead
        card.setdefault("metrics", {})["peer_comparisons"] = [{
            "slots": ["central"], "model_accuracy": 0.6, "peer": "yasa/0.8.1",
            "peer_accuracy": 0.8, "data": "6 nights", "command": "psg-lens score --engine yasa"}]
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    w = make_window(Settings(default_bundle=str(bundle), device="cpu", batch_size=4,
                             **settings), default_engine_factory)
    w.said = []  # what the window told the technician
    w.c.message.connect(w.said.append)
    w.c.open_study(path)
    assert run_model_unless_done(w.c)
    wait_idle(qtbot, w, timeout=60000)
    return w


def test_the_model_view_says_which_rows_are_missing_and_what_that_costs(
        qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch):
    pytest.importorskip("yasa")
    w = _single_lead_run(qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch)
    text = w.study_view.model_view.summary.text()
    assert "single.edf has no channel for F4-M1, O2-M1, E1-M2, E2-M2, Chin" in text
    assert "drawn dashed" in text
    # as `psg-lens score` does, the run is the model and YASA together, and says why
    assert "&#9888; With only these channels the model card measured yasa/0.8.1 ahead" in text
    assert "staged from both together" in text and "--engine" not in text
    assert "consider scoring" not in text
    run = w.c.workspace.active_run
    assert "+yasa/" in run.bundle_id and run.meta["engine"] == "fused"
    assert run.smoothing is None  # the fused stages are not smoothed again
    assert (w.c.workspace.model.stages >= 0).all()
    assert "staged from both together" in w.c.report_inputs()["model_info"]["caution"]
    # the per-epoch readings go into score's CSV; the window keeps none, so says none
    assert any(m.startswith("Model run finished") for m in w.said)
    assert not any("both readings" in m for m in w.said)
    asked = []  # the heatmap explains the stage shown, the fused one
    w.c.worker.submit_explain = lambda *a, **kw: asked.append(kw["stage"]) or 99
    w.c.request_explanation(3)
    assert asked == [["W", "N1", "N2", "N3", "REM"][int(w.c.workspace.model.stages[3])]]


def test_with_fusion_off_the_model_runs_alone_and_names_the_peer_in_the_windows_words(
        qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch):
    w = _single_lead_run(qtbot, make_window, tmp_path_factory, tmp_path, monkeypatch,
                         fuse_weak_leads=False)
    text = w.study_view.model_view.summary.text()
    assert "+yasa/" not in w.c.workspace.active_run.bundle_id
    # the advice names the window's menu item, not the command line
    assert "&#9888; With only these channels this model is weak" in text  # a warning line
    assert "consider scoring this study with yasa/0.8.1 (Model &gt; Second opinion from " \
           "YASA, Ctrl+Shift+Y)" in text and "--engine yasa" not in text
    assert text.count("this model is weak") == 1  # not again in the missing-row notice
    assert "this model is weak" in w.c.report_inputs()["model_info"]["caution"]  # on paper
