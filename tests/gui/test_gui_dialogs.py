"""Dialogs (offscreen): export with every format and the PDF preview, channel mapping,
settings, model manager, shortcut sheet, open and run-range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_fakes import SPEC, TRUTH, FakeEngine, fake_bundle  # noqa: E402

from app.config import DEFAULT_STAGE_COLORS, Settings  # noqa: E402
from app.core.formats import FORMATS, read_hypnogram  # noqa: E402
from app.core.scoring.stages import Stage  # noqa: E402
from app.gui.actions import KEYMAP  # noqa: E402
from app.gui.app import create_window  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("dialogs") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=2, sfreq=100.0)
    return path


@pytest.fixture
def window(qtbot, study_master, tmp_path, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    study = tmp_path / "night.edf"
    study.write_bytes(study_master.read_bytes())
    s = Settings(default_bundle=str(fake_bundle(tmp_path / "bundle")), scorer_id="tech-d")
    w = create_window(s, engine_factory=FakeEngine)
    qtbot.addWidget(w)
    w.show()
    assert w.c.open_study(study)
    ws = w.c.workspace
    run = ws.start_run("fake/1", SPEC, {"synthetic_only": True})
    p = np.full((len(TRUTH), 5), 0.05, np.float32)
    p[np.arange(len(TRUTH)), TRUTH] = 0.8
    ws.add_model_batch(run, np.arange(len(TRUTH)), p)
    ws.accept_model_unscored()
    ws.score(Stage.ARTIFACT, epoch=4, advance=False)
    yield w
    w.close()


def test_export_dialog_offers_every_format_and_writes_them(qtbot, window, tmp_path):
    from app.core.formats.event_files import EVENT_FORMATS
    from app.gui.dialogs.export import EVENTS, REPORT, ExportDialog

    dlg = ExportDialog(window.c, window)
    qtbot.addWidget(dlg)
    offered = [dlg.format.itemData(i) for i in range(dlg.format.count())]
    assert offered == [*FORMATS, REPORT, *(EVENTS + n for n in EVENT_FORMATS)]
    ws = window.c.workspace
    for name in FORMATS:
        dlg.set_format(name)
        target = tmp_path / "out" / Path(dlg.path.text()).name
        target.parent.mkdir(exist_ok=True)
        dlg.path.setText(str(target))
        assert dlg.export(), name
        back = read_hypnogram(target, format=name)
        keep = ws.technician.stages != Stage.ARTIFACT \
            if "artifact" not in FORMATS[name].carries else slice(None)
        assert np.array_equal(back.stages[keep], ws.technician.stages[keep]), name
    assert Path(str(tmp_path / "out" / "night_events.tsv")).exists()


def test_export_dialog_writes_the_events_reviewed_ones_unless_asked(qtbot, window,
                                                                    tmp_path):
    from app.core.formats.event_files import EVENT_FORMATS, read_events
    from app.core.scoring.events import Event, EventSource, EventType
    from app.gui.dialogs.export import EVENTS, ExportDialog

    ws = window.c.workspace
    ws.add_event(Event(EventType.HYPOPNEA, 60.0, 12.0, (), EventSource.TECHNICIAN, "tech-d"))
    ws.add_events([Event(EventType.AROUSAL, 200.0, 5.0, (), EventSource.DETECTOR, "det",
                         0.6)])
    dlg = ExportDialog(window.c, window)
    qtbot.addWidget(dlg)
    names = set()
    for name in EVENT_FORMATS:
        dlg.set_format(EVENTS + name)
        assert dlg.detected.isVisibleTo(dlg) and not dlg.which.isEnabled()
        names.add(Path(dlg.path.text()).name)
        target = tmp_path / "ev" / Path(dlg.path.text()).name
        target.parent.mkdir(exist_ok=True)
        dlg.path.setText(str(target))
        assert dlg.export(), name
        back = read_events(target, format=name)
        kinds = [e.type for e in back]
        assert EventType.HYPOPNEA in kinds and EventType.AROUSAL not in kinds, name
    assert "night_events.tsv" not in names  # that name is the hypnogram's BIDS export
    dlg.set_format(EVENTS + "csv")
    dlg.detected.setChecked(True)
    dlg.path.setText(str(tmp_path / "all.csv"))
    assert dlg.export()
    assert EventType.AROUSAL in [e.type for e in read_events(tmp_path / "all.csv")]


def test_export_without_probabilities_and_anonymised(qtbot, window, tmp_path):
    from app.gui.dialogs.export import ExportDialog

    dlg = ExportDialog(window.c, window)
    qtbot.addWidget(dlg)
    dlg.set_format("csv")
    dlg.probabilities.setChecked(False)
    dlg.anonymise.setChecked(True)
    dlg.path.setText(str(tmp_path / "plain.csv"))
    assert dlg.export()
    back = read_hypnogram(tmp_path / "plain.csv")
    assert back.probabilities is None and back.start_time is None
    dlg = ExportDialog(window.c, window)
    dlg.set_format("csv")
    dlg.which.setCurrentIndex(1)  # the model run
    dlg.path.setText(str(tmp_path / "model.csv"))
    assert dlg.export()
    assert read_hypnogram(tmp_path / "model.csv").probabilities is not None


def test_report_preview_renders_the_first_page(qtbot, window, tmp_path):
    from app.gui.dialogs.export import REPORT, ExportDialog

    dlg = ExportDialog(window.c, window)
    qtbot.addWidget(dlg)
    dlg.set_format(REPORT)
    assert dlg.preview_button.isVisibleTo(dlg) and not dlg.probabilities.isEnabled()
    assert dlg.show_preview()
    pix = dlg.preview_label.pixmap()
    assert pix is not None and pix.width() >= 400 and pix.height() > pix.width()
    img = pix.toImage()
    dark = sum(img.pixelColor(x, y).lightness() < 128
               for x in range(0, img.width(), 7) for y in range(0, img.height(), 7))
    assert dark > 20  # text and plots, not a blank page
    dlg.path.setText(str(tmp_path / "report.pdf"))
    assert dlg.export() and (tmp_path / "report.pdf").read_bytes()[:4] == b"%PDF"


def test_channel_map_dialog_is_prefilled_and_saves(qtbot, window):
    from app.gui.dialogs.channel_map import ChannelMapDialog

    ws = window.c.workspace
    dlg = ChannelMapDialog(ws, ["central: no EEG channel found"], window)
    qtbot.addWidget(dlg)
    assert dlg.combos["central"].currentText() == "C4-M1"
    assert dlg.combos["chin"].currentText() == "Chin1-Chin2"
    dlg.combos["central"].setCurrentText("O2-M1")
    dlg.accept()
    assert ws.channel_map["central"] == "O2-M1" and ws.session.channel_map["central"] == "O2-M1"
    labels = [r.label for r in window.study_view.traces.rows]
    assert labels.count("O2-M1") == 2  # central now shows O2-M1 too
    bad = ChannelMapDialog(ws, [], window)
    qtbot.addWidget(bad)
    bad.combos["frontal"].setCurrentText("NoSuchChannel")
    bad.accept()
    assert "NoSuchChannel" in bad.error.text() and bad.result() == 0
    assert ws.channel_map["frontal"] == "F4-M1"  # the bad mapping was not saved


def test_settings_dialog_round_trip(qtbot, window):
    from app.gui.dialogs.settings import SettingsDialog

    dlg = SettingsDialog(window.c.settings, window)
    qtbot.addWidget(dlg)
    dlg.scorer_name.setText("Ada")
    dlg.threshold.setValue(0.75)
    dlg.advance.setChecked(False)
    dlg.theme.setCurrentText("dark")
    dlg.colors["REM"] = "#123456"
    assert dlg.fuse.isChecked()  # as psg-lens score: fused where the card found leads weak
    dlg.fuse.setChecked(False)
    s = dlg.result_settings()
    assert s.fuse_weak_leads is False
    assert (s.scorer_name, s.low_confidence, s.auto_advance, s.theme) == ("Ada", 0.75, False,
                                                                          "dark")
    assert s.stage_colors["REM"] == "#123456" and s.stage_colors["W"] == DEFAULT_STAGE_COLORS["W"]
    window.c.settings = s
    window.c.apply_settings()
    window.apply_theme()
    ws = window.c.workspace
    assert ws.low_confidence == 0.75 and not ws.auto_advance
    assert window.study_view.traces.theme.name == "dark"


def test_model_manager_shows_the_card_and_the_banner(qtbot, window, tmp_path):
    from app.gui.dialogs.model_manager import ModelManagerDialog

    dlg = ModelManagerDialog(window.c, window)
    qtbot.addWidget(dlg)
    html = dlg.card.toPlainText()
    assert "Training data" in html and "synthetic" in html and "Intended use" in html
    assert "synthetic signals only" in dlg.status.text()
    assert window.banner.isVisible()
    real = fake_bundle(tmp_path / "validated", synthetic_only=False)
    dlg.use(str(real))
    assert not window.banner.isVisible() and window.c.model_status()[0] == "ok"
    dlg.use(str(tmp_path / "missing"))
    assert window.banner.isVisible() and window.c.model_status()[0] == "error"


def test_shortcut_sheet_lists_every_binding(qtbot):
    from app.gui.dialogs.shortcuts import ShortcutSheet

    sheet = ShortcutSheet()
    qtbot.addWidget(sheet)
    assert sheet.table.rowCount() == len(KEYMAP)
    texts = {sheet.table.item(i, 1).text(): sheet.table.item(i, 2).text()
             for i in range(sheet.table.rowCount())}
    assert "W" in texts["Score Wake"] and "Num+1" in texts["Score N1"]


def test_small_dialogs(qtbot, tmp_path):
    from app.gui.dialogs.open_study import OpenStudyDialog
    from app.gui.dialogs.run_range import RunRangeDialog

    rr = RunRangeDialog(100, 40, 10)
    qtbot.addWidget(rr)
    assert rr.epochs() == list(range(10, 41))
    od = OpenStudyDialog([str(tmp_path / "a.edf"), str(tmp_path / "b.edf")])
    qtbot.addWidget(od)
    od.recent.setCurrentRow(1)
    od._open_selected()
    assert od.path == str(tmp_path / "b.edf")


def test_a_hypnogram_export_carries_the_annotations_beside_it(qtbot, window, tmp_path):
    from app.core.formats.event_files import read_events
    from app.core.scoring.events import Event, EventSource, EventType
    from app.gui.dialogs.export import ExportDialog, annotations_path

    ws = window.c.workspace
    ws.add_event(Event(EventType.OTHER, 90.0, 0.0, (), EventSource.TECHNICIAN, "tech-d",
                       text="Patient restless"))
    dlg = ExportDialog(window.c, window)
    qtbot.addWidget(dlg)
    dlg.set_format("csv")
    assert dlg.with_events.isVisibleTo(dlg) and dlg.with_events.isChecked()
    dlg.path.setText(str(tmp_path / "night_hypnogram.csv"))
    assert dlg.export()
    side = annotations_path(tmp_path / "night_hypnogram.csv")
    assert side.name == "night_hypnogram_annotations.csv"
    assert "Patient restless" in [e.text for e in read_events(side)]
    dlg.set_format("report")
    assert not dlg.with_events.isVisibleTo(dlg)
