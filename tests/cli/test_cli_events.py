"""psg-lens events (the study's events, --detect, the indices) and stats --events/--study."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main

SECONDS = 1800


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A 30-min study with flow, pressure, belts, SpO2, a leg and scored annotations (an
    obstructive apnea and a desaturation where the signals have them), and its hypnogram."""
    from edfio import Edf, EdfAnnotation, EdfSignal

    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    d = tmp_path_factory.mktemp("events")
    rng = np.random.default_rng(5)
    t10 = np.arange(0, SECONDS, 0.1)
    wave = np.sin(2 * np.pi * t10 / 4.0)
    stop = (t10 >= 600) & (t10 < 620)
    t1 = np.arange(SECONDS)
    spo2 = 96.0 - 4.5 * np.exp(-(((t1 - 640) / 8) ** 2))
    sigs = {"C4-M1": (rng.normal(0, 20, SECONDS * 100), 100, "uV"),
            "Airflow": (np.where(stop, 0, wave) + 0.01 * rng.normal(size=t10.size), 10, ""),
            "Nasal Pressure": (np.where(stop, 0, wave), 10, ""),
            "Thorax": (wave, 10, ""), "Abdomen": (-wave, 10, ""), "SpO2": (spo2, 1, "%"),
            "LAT": (rng.normal(0, 2, SECONDS * 100), 100, "uV")}
    edf_sigs = [EdfSignal(x, sf, label=name, physical_dimension=unit,
                          physical_range=(float(x.min()) - 1, float(x.max()) + 1))
                for name, (x, sf, unit) in sigs.items()]
    notes = [EdfAnnotation(0, 30, "Sleep stage W"), EdfAnnotation(600, 20, "Obstructive Apnea"),
             EdfAnnotation(625, 25, "SpO2 desaturation"), EdfAnnotation(900, 12, "Hypopnea"),
             EdfAnnotation(1000, 5, "Snore")]
    edf = Edf(edf_sigs, data_record_duration=1.0, annotations=notes)
    edf.startdate, edf.starttime = dt.date(2024, 3, 1), dt.time(23, 0, 0)
    edf.write(d / "night.edf")
    hyp = Hypnogram.from_labels(["W"] * 2 + ["N2"] * 58, start_time=dt.datetime(2024, 3, 1, 23))
    write_hypnogram(hyp, d / "night.csv")
    short = Hypnogram.from_labels(["N2"] * 50, start_time=dt.datetime(2024, 3, 1, 23))
    write_hypnogram(short, d / "short.csv")
    truth = [{"type": "obstructive_apnea", "onset": 600.0, "duration": 20.0},
             {"type": "hypopnea", "onset": 1200.0, "duration": 15.0, "source": "imported"}]
    (d / "truth.json").write_text(json.dumps(truth))
    (d / "bad.json").write_text(json.dumps([{"type": "apnoea?", "onset": 1, "duration": 2}]))
    return {"study": d / "night.edf", "hyp": d / "night.csv", "short": d / "short.csv",
            "truth": d / "truth.json", "bad": d / "bad.json", "dir": d}


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_events_lists_the_studys_annotations_as_events(files, capsys):
    assert main(["events", str(files["study"]), "--json"]) == 0
    d = _json(capsys)
    kinds = [(e["type"], e["onset"], e["source"]) for e in d["events"]]
    assert kinds == [("obstructive_apnea", 600.0, "study"), ("desaturation", 625.0, "study"),
                     ("hypopnea", 900.0, "study"), ("other", 1000.0, "study")]
    assert d["events"][-1]["text"] == "Snore"
    assert d["detected"] is None and d["indices"] is None
    assert any(n.startswith("No hypnogram: the indices") for n in d["notes"])


def test_detect_proposes_events_and_counts_them_apart(files, capsys):
    assert main(["events", str(files["study"]), "--detect", "--hypnogram", str(files["hyp"]),
                 "--json"]) == 0
    d = _json(capsys)
    found = [(e["type"], round(e["onset"])) for e in d["detected"]]
    assert ("obstructive_apnea", 600) in found
    assert any(t == "desaturation" for t, _ in found)
    assert all(e["source"] == "detector" and 0 <= e["confidence"] <= 1 for e in d["detected"])
    assert d["skipped"] == [] and d["channels"]["pressure"] == "Nasal Pressure"
    scored, det = d["indices"]["scored"]["overall"], d["indices"]["detector"]["overall"]
    assert scored["ahi"]["count"] == 2 and scored["ahi"]["hours"] == pytest.approx(29 / 60, abs=1e-3)
    assert det["ahi"]["count"] >= 1
    assert d["hypnogram"] == str(files["hyp"])


def test_the_table_names_the_detector_events_as_decision_support(files, capsys):
    assert main(["events", str(files["study"]), "--detect", "--hypnogram",
                 str(files["hyp"])]) == 0
    out = capsys.readouterr().out
    assert "Scored events (study annotations and session): 4" in out
    assert "Detected events (decision support: not reviewed by a technician)" in out
    assert "Obstructive apnea" in out and "flow_drop_pct=" in out
    assert "Indices per hour of sleep, technician, imported and study events:" in out
    assert "Indices per hour of sleep, detector events (decision support" in out
    assert out.count("Apnea-hypopnea index (AHI)") == 2


def test_the_sessions_hypnogram_and_events_are_used(files, tmp_path, capsys):
    import shutil

    from app.core.scoring.events import Event, EventSource, EventType
    from app.core.scoring.session import ScoringSession

    study = tmp_path / "night.edf"
    shutil.copy(files["study"], study)
    with ScoringSession.open(study, n_epochs=60, who="tech-01") as s:
        s.set_stages(list(range(60)), [2] * 60)
        s.add_events([Event(EventType.CENTRAL_APNEA, 1500.0, 12.0, scorer="tech-01")])
        s.add_events([Event(EventType.HYPOPNEA, 1600.0, 15.0, source=EventSource.DETECTOR,
                            confidence=0.7)], kind="detect")
    assert main(["events", str(study), "--json"]) == 0
    d = _json(capsys)
    assert d["hypnogram"] == "the technician's hypnogram in the study's session"
    assert [e["type"] for e in d["events"]][-1] == "central_apnea"
    assert d["indices"]["scored"]["overall"]["central_apnea_index"]["count"] == 1
    assert d["indices"]["scored"]["overall"]["ahi"]["count"] == 3     # 2 annotations + 1
    assert d["indices"]["scored"]["overall"]["ahi"]["hours"] == pytest.approx(0.5)
    # the proposal waiting for review is listed and counted apart, never as scored
    assert [e["type"] for e in d["detected"]] == ["hypopnea"]
    assert d["indices"]["detector"]["overall"]["ahi"]["count"] == 1


def test_stats_adds_the_indices_of_an_event_file(files, capsys):
    assert main(["stats", str(files["hyp"]), "--events", str(files["truth"])]) == 0
    out = capsys.readouterr().out
    assert "Total sleep time" in out
    assert "Indices per hour of sleep, technician, imported and study events:" in out
    assert main(["stats", str(files["hyp"]), "--events", str(files["truth"]), "--json"]) == 0
    d = _json(capsys)
    assert "tst_min" in d and d["event_indices"]["scored"]["overall"]["ahi"]["count"] == 2
    assert d["event_indices"]["detector"] is None


def test_stats_with_the_study_and_detect_counts_both_tables(files, capsys):
    assert main(["stats", str(files["hyp"]), "--study", str(files["study"]), "--detect",
                 "--json"]) == 0
    d = _json(capsys)["event_indices"]
    assert d["scored"]["overall"]["ahi"]["count"] == 2
    assert d["detector"]["overall"]["ahi"]["count"] >= 1


@pytest.mark.parametrize("argv, words", [
    (["events", "{dir}/missing.edf"], "There is no file"),
    (["events", "{study}", "--hypopnea-rule", "1C"], "Unknown hypopnea rule '1C'"),
    (["events", "{study}", "--position-codes", "one=supine"], "is not NUMBER=POSITION"),
    (["events", "{study}", "--position-codes", "1=supine"], "No body position channel"),
    (["events", "{study}", "--hypnogram", "{short}"], "Pass --fit"),
    (["events", "{study}", "--hypnogram", "{dir}/none.csv"], "none.csv"),
    (["stats", "{hyp}", "--detect"], "give it with --study"),
    (["stats", "{hyp}", "--events", "{bad}"], "bad.json, event 1"),
    (["stats", "{hyp}", "--events", "{dir}/none.json"], "none.json"),
    (["stats", "{short}", "--study", "{study}"], "Pass --fit"),
])
def test_bad_input_is_one_sentence(files, capsys, argv, words):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"psg-lens {argv[0]}: error: ")


def test_fit_lays_a_shorter_hypnogram_on_the_study(files, capsys):
    assert main(["events", str(files["study"]), "--hypnogram", str(files["short"]), "--fit",
                 "--json"]) == 0
    captured = capsys.readouterr()
    assert "fitted" in captured.err
    assert json.loads(captured.out)["indices"]["scored"]["overall"]["ahi"]["hours"] == \
        pytest.approx(50 / 120, abs=1e-3)
