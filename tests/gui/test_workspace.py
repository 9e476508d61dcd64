"""Workspace (Qt-free): scoring through the session, navigation, model runs, imports,
channel map, explanations, reopening; and the user settings file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.config import DEFAULT_STAGE_COLORS, Settings, load_settings, save_settings
from app.core.scoring.stages import Stage
from app.core.signals.render_spec import RenderSpec
from app.core.workspace import Workspace
from app.errors import ChannelError, PSGLensError

N_EPOCHS = 24


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("ws") / "night.edf"
    stages = np.resize([0, 0, 1, 2, 2, 2, 3, 3, 2, 4, 4, 2], N_EPOCHS)
    make_study_file(path, stages=stages, seed=3, sfreq=100.0)
    return path


@pytest.fixture
def study(study_master, tmp_path) -> Path:
    """A private copy per test: each gets a fresh session beside it."""
    dst = tmp_path / "night.edf"
    dst.write_bytes(study_master.read_bytes())
    return dst


@pytest.fixture
def ws(study):
    w = Workspace.open(study, who="tech-01")
    yield w
    w.close()


def model_probs(n: int, low_every: int = 5) -> np.ndarray:
    """Peaked probabilities of a repeating stage pattern; every ``low_every``-th epoch
    is uncertain (top probability 0.4)."""
    stages = np.resize([0, 1, 2, 2, 3, 4], n)
    p = np.full((n, 5), 0.05, np.float32)
    p[np.arange(n), stages] = 0.8
    low = np.arange(n) % low_every == 3
    p[low] = [0.1, 0.2, 0.4, 0.2, 0.1]
    return p


def edits_on_disk(session_path: Path) -> list[tuple[int, int]]:
    """Read the edit log with a separate read-only connection, as a crash survivor would."""
    con = sqlite3.connect(f"file:{session_path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT epoch, new FROM edits ORDER BY id").fetchall()
    finally:
        con.close()


def test_score_advances_and_is_on_disk_at_once(ws):
    got = []
    ws.events.stages.connect(lambda ev: got.append(ev.epochs))
    ws.set_epoch(4)
    ws.score(Stage.N2)
    assert ws.epoch == 5 and ws.technician.stages[4] == Stage.N2
    assert got == [[4]]  # one event per edit, not one per session callback
    assert edits_on_disk(ws.session.path)[-1] == (4, int(Stage.N2))
    ws.auto_advance = False
    ws.score(Stage.REM)
    assert ws.epoch == 5 and ws.technician.stages[5] == Stage.REM


def test_undo_redo_moves_to_the_epoch(ws):
    ws.score(Stage.W, epoch=2, advance=False)
    ws.set_epoch(10)
    assert ws.undo() == [2]
    assert ws.epoch == 2 and ws.technician.stages[2] == Stage.UNSCORED
    ws.set_epoch(9)
    assert ws.redo() == [2] and ws.epoch == 2 and ws.technician.stages[2] == Stage.W
    messages = []
    ws.events.message.connect(lambda ev: messages.append(ev.text))
    ws.redo()
    assert messages == ["Nothing to redo."]


def test_artifact_is_kept_distinct(ws):
    ws.mark_artifact()
    assert ws.technician.stages[0] == Stage.ARTIFACT
    assert edits_on_disk(ws.session.path)[-1] == (0, int(Stage.ARTIFACT))


def test_model_run_streams_and_navigation(ws):
    run = ws.start_run("fake/1", RenderSpec.preset("clinical"), {"engine": "fake"})
    assert ws.active_run_id == run and ws.model.stages[0] == Stage.UNSCORED
    p = model_probs(N_EPOCHS)
    seen = []
    ws.events.model.connect(lambda ev: seen.append((ev.start, ev.stop)))
    ws.add_model_batch(run, [8, 9, 10, 11], p[8:12])
    ws.add_model_batch(run, [0, 1, 2, 3, 5, 6], p[[0, 1, 2, 3, 5, 6]])  # not contiguous
    assert seen == [(8, 12), (0, 7)]
    assert ws.model.stages[4] == Stage.UNSCORED  # not scored yet: never a stage
    assert np.allclose(ws.model.probabilities[8:12], p[8:12])
    # uncertain epochs (3 and 8): U walks through them, wrapping around with a note
    assert list(ws.low_confidence_epochs()) == [3, 8]
    ws.set_epoch(0)
    assert ws.next_low_confidence() == 3 and ws.next_low_confidence() == 8
    notes = []
    ws.events.message.connect(lambda ev: notes.append(ev.text))
    assert ws.next_low_confidence() == 3 and "Wrapped" in notes[-1]
    assert ws.next_low_confidence(-1) == 8
    # accept the model, then disagree with it
    ws.set_epoch(0)
    assert ws.accept_model() and ws.technician.stages[0] == Stage.W and ws.epoch == 1
    assert ws.session.edits()[-1].kind == "accept"
    ws.score(Stage.N3, epoch=2, advance=False)
    assert list(ws.disagreement_epochs()) == [2]
    ws.set_epoch(10)
    assert ws.next_disagreement() == 2
    # an epoch the model has not scored cannot be accepted
    ws.set_epoch(4)
    assert not ws.accept_model() and ws.technician.stages[4] == Stage.UNSCORED
    # accept everything else in one undo step
    n = ws.accept_model_unscored()
    assert n == 8 and ws.technician.stages[11] == ws.model.stages[11]
    ws.undo()
    assert ws.technician.stages[11] == Stage.UNSCORED


def test_a_smoothed_run_shows_posteriors_and_keeps_the_models_own_on_disk(study):
    from app.core.inference.night_smoothing import NightSmoothing

    fit = {"prior_weight": 1.0, "evidence_weight": 0.3, "temperature": 1.0}
    p = model_probs(N_EPOCHS)
    ws = Workspace.open(study, who="tech-01")
    run_id = ws.start_run("m/1", RenderSpec.preset("clinical"), {"smoothing": fit})
    seen = []
    ws.events.model.connect(lambda ev: seen.append((ev.start, ev.stop)))
    ws.add_model_batch(run_id, np.arange(12), p[:12])     # half the night so far
    run = ws.run(run_id)
    half = np.where(np.arange(N_EPOCHS)[:, None] < 12, p, np.nan)
    expected = NightSmoothing(**fit).posteriors(half)
    assert np.array_equal(run.hypnogram.stages[:12], expected[:12].argmax(axis=1))
    assert (run.hypnogram.stages[12:] == Stage.UNSCORED).all()
    assert seen == [(0, N_EPOCHS)]  # a new epoch may change any of its neighbours
    ws.add_model_batch(run_id, np.arange(12, N_EPOCHS), p[12:])
    expected = NightSmoothing(**fit).posteriors(p)
    np.testing.assert_allclose(run.hypnogram.probabilities, expected, atol=1e-5)
    assert not np.array_equal(run.hypnogram.stages, p.argmax(axis=1)), "nothing smoothed"
    e = int(np.flatnonzero(run.hypnogram.stages != p.argmax(axis=1))[0])
    assert run.model_stage(e) == (int(p[e].argmax()), pytest.approx(float(p[e].max())))
    assert "smoothed over the night" in run.describe()
    # the session keeps what the model said; the smoothing is redone on reopening
    assert np.array_equal(ws.session.model_hypnogram(run_id).stages, p.argmax(axis=1))
    ws.close()
    again = Workspace.open(study, who="tech-01")
    try:
        np.testing.assert_allclose(again.run(run_id).hypnogram.probabilities, expected,
                                   atol=1e-5)
        exported = again.hypnogram_for_export(run_id)
        assert np.array_equal(exported.stages, expected.argmax(axis=1))
    finally:
        again.close()


def test_reopen_restores_position_view_runs_edits_and_imports(study, tmp_path):
    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    other = tmp_path / "other.csv"
    write_hypnogram(Hypnogram.from_labels(["W", "N1", "N2"] * (N_EPOCHS // 3),
                                          scorer="scorer-B"), other)
    ws = Workspace.open(study, who="tech-01")
    a = ws.start_run("first/1", RenderSpec.preset("clinical"))
    ws.add_model_batch(a, np.arange(N_EPOCHS), model_probs(N_EPOCHS))
    b = ws.start_run("yasa/0.8", None)
    ws.add_model_batch(b, np.arange(N_EPOCHS), model_probs(N_EPOCHS, low_every=7)[::-1])
    ws.set_active_run(a)
    ws.score(Stage.N2, epoch=6, advance=False)
    ws.import_hypnogram(other)
    ws.set_view(window_sec=60.0, context=True, filters=False)
    ws.set_epoch(17)
    agree = ws.run_agreement(a, b)
    ws.close()
    ws2 = Workspace.open(study, who="tech-01")
    try:
        assert ws2.epoch == 17
        assert (ws2.view.window_sec, ws2.view.context, ws2.view.filters) == (60.0, True, False)
        assert [r.bundle_id for r in ws2.runs] == ["first/1", "yasa/0.8"]
        assert ws2.active_run_id == a and ws2.runs[1].spec is None
        assert np.allclose(ws2.run(a).hypnogram.probabilities, model_probs(N_EPOCHS))
        assert ws2.technician.stages[6] == Stage.N2
        assert [h.scorer for h in ws2.imported] == ["scorer-B"]
        assert ws2.run_agreement(a, b).kappa == pytest.approx(agree.kappa, nan_ok=True)
        k = ws2.technician_agreement(ws2.imported[0])
        assert k.n_epochs == 1  # only epoch 6 is scored by both
    finally:
        ws2.close()


def test_import_with_other_epoch_length_is_resampled(ws, tmp_path):
    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    fine = np.repeat(np.resize([0, 2, 4], N_EPOCHS), 2)  # 15-s epochs
    path = tmp_path / "fine.csv"
    write_hypnogram(Hypnogram(fine, epoch_sec=15.0, scorer="B"), path)
    hyp = ws.import_hypnogram(path)
    assert hyp.epoch_sec == 30.0 and hyp.n_epochs == N_EPOCHS
    assert list(hyp.stages[:3]) == [0, 2, 4]


def test_import_errors_are_one_sentence(ws, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("this is not, a hypnogram\n1,2\n")
    with pytest.raises(PSGLensError) as err:
        ws.import_hypnogram(bad)
    assert "\n" not in str(err.value)
    assert ws.imported == [] and ws.session.get_state("imports") is None


def test_channel_map_questions_and_override(tmp_path):
    from conftest import write_edf

    rng = np.random.default_rng(0)
    sig = {n: (rng.normal(0, 20, 30 * 100 * 4), 100.0) for n in ("EEG", "EOG(L)", "EMG")}
    path = write_edf(tmp_path / "shhs-like.edf", sig)
    ws = Workspace.open(path)
    try:
        q = ws.mapping_questions()
        assert any("guessed" in x for x in q) and any("frontal" in x for x in q)
        with pytest.raises(ChannelError):
            ws.set_channel_map({"central": "C4"})
        assert ws.session.channel_map is None  # a bad mapping is not saved
        ws.set_channel_map({"central": "EEG", "frontal": ""})
        assert ws.mapping_questions() == [] and ws.channel_map == {"central": "EEG"}
        assert ws.slot_sources()["central"].quality == "user"
    finally:
        ws.close()
    ws = Workspace.open(path)
    try:
        assert ws.channel_map == {"central": "EEG"} and ws.mapping_questions() == []
    finally:
        ws.close()


def test_explanation_maps_to_channels(ws):
    spec = RenderSpec.preset("clinical", width=60, height=60)
    heat = np.zeros((60, 60))
    heat[10:20, :30] = 1.0  # second row (central), first half of the epoch
    seen = []
    ws.events.explanation.connect(lambda ev: seen.append(ev.epoch))
    run = ws.start_run("m/1", spec)  # a heatmap explains a run's stage
    ws.add_model_batch(run, np.arange(N_EPOCHS), model_probs(N_EPOCHS))
    ex = ws.set_explanation(ws.epoch, heat, spec)
    assert seen == [0] and ws.explanation_for() is ex and ws.explanation_for(1) is None
    label, share = ex.channel_importance()[0]
    assert label == "C4-M1" and share == pytest.approx(1.0)
    assert ex.grid.shape == (6, 30) and ex.grid[1, :15].sum() > 0 and ex.grid[1, 15:].sum() == 0
    with pytest.raises(ValueError):
        ws.set_explanation(0, np.zeros((10, 10)), spec)


def test_visible_span_and_pages(ws):
    ws.set_epoch(10)
    assert ws.visible_span() == (300.0, 330.0)
    ws.set_view(context=True)
    assert ws.visible_span() == (270.0, 360.0)
    ws.set_view(window_sec=300.0, context=False)
    assert ws.visible_span() == (165.0, 465.0) and ws.page_epochs == 10
    ws.page(1)
    assert ws.epoch == 20
    ws.page(1)
    assert ws.epoch == N_EPOCHS - 1  # clamped at the last epoch
    with pytest.raises(ValueError):
        ws.set_view(window_sec=10.0)


def test_a_failing_subscriber_does_not_stop_the_others(ws):
    got = []
    ws.events.epoch.connect(lambda ev: 1 / 0)
    ws.events.epoch.connect(lambda ev: got.append(ev.epoch))
    ws.step(2)
    assert got == [2]


# -- settings -------------------------------------------------------------------------
def test_settings_round_trip_and_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "cfg"))
    s = load_settings()
    assert s == Settings() and s.stage_colors == DEFAULT_STAGE_COLORS
    s.scorer_id = "tech-07"
    s.theme = "dark"
    for i in range(15):
        s.add_recent(tmp_path / f"n{i}.edf")
    path = save_settings(s)
    assert path.parent == tmp_path / "cfg"
    again = load_settings()
    assert again.scorer == "tech-07" and again.theme == "dark"
    assert len(again.recent_files) == 10 and again.recent_files[0].endswith("n14.edf")
    assert json.loads(path.read_text())["schema_version"] == 1


def test_damaged_or_newer_settings_fall_back(tmp_path, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text("{not json")
    s = load_settings()
    assert s.theme == "light" and "not valid JSON" in s.notes[0]
    (tmp_path / "settings.json").write_text(json.dumps({
        "schema_version": 99, "theme": "neon", "low_confidence": 0.7, "future_key": 1,
        "fuse_weak_leads": "no", "stage_colors": {"W": "#000000", "N1": "blue"}}))
    s = load_settings()
    assert s.theme == "light" and s.low_confidence == 0.7
    assert s.fuse_weak_leads is True and any("fuse_weak_leads" in n for n in s.notes)
    assert s.stage_colors["W"] == "#000000" and s.stage_colors["N1"] == "#56B4E9"
    assert any("newer" in n for n in s.notes) and any("theme" in n for n in s.notes)


def test_import_of_another_length_or_unknown_labels_is_never_silent(ws, tmp_path):
    from app.core.formats import write_hypnogram
    from app.core.scoring.fitting import FitRefused
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.workspace import UnknownLabelsRefused

    short = tmp_path / "short.csv"
    write_hypnogram(Hypnogram.from_labels(["N2"] * (N_EPOCHS - 4), scorer="B"), short)
    with pytest.raises(FitRefused) as err:
        ws.import_hypnogram(short)
    text = str(err.value)
    assert f"{N_EPOCHS - 4} epochs" in text and f"the study has {N_EPOCHS}" in text
    assert "leave 4 of the study unscored" in text and ws.imported == []
    hyp = ws.import_hypnogram(short, fit=True)
    assert hyp.n_epochs == N_EPOCHS and list(hyp.stages[-4:]) == [-1] * 4
    odd = tmp_path / "odd.csv"
    odd.write_text("epoch,stage\n" + "".join(
        f"{i + 1},{'deep' if i == 3 else 'N1'}\n" for i in range(N_EPOCHS)))
    with pytest.raises(UnknownLabelsRefused, match=r"'deep' in odd.csv, line 5\. Import every epoch"):
        ws.import_hypnogram(odd)
    hyp = ws.import_hypnogram(odd, unknown="unscored")
    assert hyp.stages[3] == -1 and hyp.stages[2] == 1
    assert (ws.technician.stages == -1).all()  # importing never touches stages


def test_the_report_says_when_the_models_night_is_unlike_any_real_one(ws, monkeypatch):
    pypdfium2 = pytest.importorskip("pypdfium2")
    from types import SimpleNamespace

    from app.core.report import write_report
    from app.core.scoring import plausibility
    from app.gui.controller import Controller

    monkeypatch.setattr(plausibility, "MIN_HOURS", 0.1)  # the 12-min test night counts
    run = ws.start_run("m/1", RenderSpec.preset("clinical"))
    rem = np.tile([[0.05, 0.05, 0.05, 0.05, 0.8]], (N_EPOCHS, 1)).astype(np.float32)
    ws.add_model_batch(run, np.arange(N_EPOCHS), rem)
    inputs = Controller.report_inputs(SimpleNamespace(workspace=ws, settings=Settings()))
    assert inputs["model_info"]["caution"].startswith("The stages of this 0.2-h recording")
    pdf = write_report(ws.path.with_suffix(".pdf"), ws.technician, **inputs)
    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert "Caution" in text and "unlike any of 597" in " ".join(text.split())


def test_cross_check_needs_a_finished_model_run_and_a_finished_yasa_run(ws):
    assert ws.cross_check() is None
    a = ws.start_run("first/1", RenderSpec.preset("clinical"))
    ws.add_model_batch(a, np.arange(N_EPOCHS - 1), model_probs(N_EPOCHS)[:-1])
    b = ws.start_run("yasa/0.8", None)
    ws.add_model_batch(b, np.arange(N_EPOCHS), model_probs(N_EPOCHS, low_every=7)[::-1])
    ws.set_active_run(a)
    assert ws.cross_check() is None  # the model run has not looked at every epoch
    ws.add_model_batch(a, [N_EPOCHS - 1], model_probs(N_EPOCHS)[-1:])
    check = ws.cross_check()
    assert check is not None and check.peer == "YASA" and check.n_compared == N_EPOCHS
    expected = ws.run(a).hypnogram.stages != ws.run(b).hypnogram.stages
    assert np.array_equal(check.disagree, expected)
    ws.set_active_run(b)  # YASA's run active: the same check, against the model run
    assert np.array_equal(ws.cross_check().disagree, expected)
    assert np.array_equal(ws.cross_check().model_stages, ws.run(a).hypnogram.stages)


def test_the_report_prints_where_yasa_stages_the_night_otherwise(ws):
    from types import SimpleNamespace

    from app.gui.controller import Controller

    a = ws.start_run("first/1", RenderSpec.preset("clinical"))
    ws.add_model_batch(a, np.arange(N_EPOCHS), model_probs(N_EPOCHS))
    report = Controller.report_inputs(SimpleNamespace(workspace=ws, settings=Settings()))
    assert "YASA" not in report["model_info"].get("caution", "")  # no YASA run yet
    b = ws.start_run("yasa/0.8", None)
    ws.add_model_batch(b, np.arange(N_EPOCHS), model_probs(N_EPOCHS, low_every=7)[::-1])
    ws.set_active_run(a)
    n = int(ws.cross_check().n_disagree)
    assert n > 0
    report = Controller.report_inputs(SimpleNamespace(workspace=ws, settings=Settings()))
    assert f"YASA stages {n} of {N_EPOCHS} epochs differently" in report["model_info"]["caution"]


def test_unsure_epochs_add_where_a_finished_yasa_run_stages_otherwise(ws):
    a = ws.start_run("first/1", RenderSpec.preset("clinical"))
    p = model_probs(N_EPOCHS)
    ws.add_model_batch(a, np.arange(N_EPOCHS), p)
    low = ws.low_confidence_epochs()
    assert np.array_equal(ws.unsure_epochs(), low)  # no YASA run yet: confidence alone
    peer = p.copy()
    confident_but_contested = int(np.setdiff1d(np.arange(N_EPOCHS), low)[0])
    peer[confident_but_contested] = np.roll(peer[confident_but_contested], 1)
    b = ws.start_run("yasa/0.8", None)
    ws.add_model_batch(b, np.arange(N_EPOCHS), peer)
    ws.set_active_run(a)
    unsure = ws.unsure_epochs()
    assert set(unsure) == set(low) | {confident_but_contested}
    ws.set_epoch(N_EPOCHS - 1)
    notes = []
    ws.events.message.connect(lambda ev: notes.append(ev.text))
    assert ws.next_low_confidence() == int(unsure[0])  # U reaches the contested epoch too
    assert "low-confidence or YASA-disagreeing" in notes[-1]
