"""The PDF report counts the events and tables the indices: the technician's, and the
detector's apart; from the window and from `psg-lens report --events`."""

from __future__ import annotations

import numpy as np
import pytest

from app.cli import main
from app.core.formats.event_files import write_events
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram

pypdfium2 = pytest.importorskip("pypdfium2")


def pdf_text(path) -> str:
    doc = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    from app.core.formats import write_hypnogram
    from app.core.synth import synthesize, write_edf

    d = tmp_path_factory.mktemp("report-events")
    study = synthesize(hours=1.0, seed=21, montage="full")
    write_edf(study, d / "night.edf")
    hyp = Hypnogram(np.where(np.arange(study.stages.size) < 10, 0, 2),  # 5 min W, 55 min N2
                    start_time=study.start_time)
    write_hypnogram(hyp, d / "night.csv")
    return d, hyp


def test_report_tables_the_indices_scored_and_detected_apart(night, tmp_path, capsys):
    d, hyp = night
    events = [Event(EventType.OBSTRUCTIVE_APNEA, 600.0 + 60 * k, 15.0, ("Airflow",),
                    EventSource.TECHNICIAN, "tech") for k in range(10)]  # 10 in 50 min
    events += [Event(EventType.HYPOPNEA, 630.0 + 120 * k, 12.0, ("Airflow",),
                     EventSource.DETECTOR, "detector", 0.8) for k in range(5)]
    write_events(events, tmp_path / "events.csv")
    out = tmp_path / "r.pdf"
    assert main(["report", str(d / "night.edf"), "--hypnogram", str(d / "night.csv"),
                 "--events", str(tmp_path / "events.csv"), "-o", str(out)]) == 0
    text = pdf_text(out)
    assert "Events" in text and "Obstructive apnea" in text
    assert "Apnea-hypopnea index (AHI)" in text and "10.9 (10)" in text  # 10 in 55 min
    assert "detector events" in text and "5.5 (5)" in text  # the detector's, apart


def test_report_without_events_has_no_events_section(night, tmp_path):
    d, _ = night
    out = tmp_path / "r.pdf"
    assert main(["report", str(d / "night.edf"), "--hypnogram", str(d / "night.csv"),
                 "-o", str(out)]) == 0
    assert "Apnea-hypopnea index" not in pdf_text(out)


def test_a_bad_event_file_is_one_sentence(night, tmp_path, capsys):
    d, _ = night
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_sec,duration_sec,type\n99999,10,obstructive_apnea\n")
    rc = main(["report", str(d / "night.edf"), "--hypnogram", str(d / "night.csv"),
               "--events", str(bad), "-o", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err
    assert rc == 2 and "outside the recording" in err and "Traceback" not in err


def test_report_draws_in_the_users_stage_colours(night, tmp_path, monkeypatch):
    from app import config
    from app.core import report

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "cfg"))
    settings = config.Settings()
    settings.stage_colors["REM"] = "#123456"
    config.save_settings(settings)
    seen = {}
    real = report.write_report
    monkeypatch.setattr(report, "write_report",
                        lambda *a, **kw: seen.update(kw) or real(*a, **kw))
    d, _ = night
    assert main(["report", str(d / "night.edf"), "--hypnogram", str(d / "night.csv"),
                 "-o", str(tmp_path / "r.pdf")]) == 0
    assert seen["stage_colors"]["REM"] == "#123456" and seen["stage_colors"]["W"]
