"""psg-lens spectrogram (the PNG, its hypnogram, the cache, bad input refused before any
work) and psg-lens annotations (the study file's own annotations)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.cli import main

START = dt.datetime(2024, 3, 1, 22, 30, 0)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A 15-min synthetic study and its hypnogram; a short one; an EDF+ with annotations."""
    from edfio import Edf, EdfAnnotation, EdfSignal

    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.synth import make_study_file

    d = tmp_path_factory.mktemp("spectrogram")
    study = make_study_file(d / "night.edf", hours=0.25, seed=5, sfreq=128.0)
    write_hypnogram(Hypnogram(study.stages, start_time=study.start_time), d / "night.csv")
    write_hypnogram(Hypnogram(study.stages[:20], start_time=study.start_time), d / "short.csv")
    x = np.random.default_rng(0).normal(0, 20, 1200 * 100)
    notes = [EdfAnnotation(1000, 5, "Snore"), EdfAnnotation(0, None, "Lights off"),
             EdfAnnotation(600, 20, "Obstructive Apnea"), EdfAnnotation(900, 30, "Sleep stage N2")]
    edf = Edf([EdfSignal(x, 100, label="C4-M1", physical_dimension="uV",
                         physical_range=(-200, 200))], data_record_duration=1.0,
              annotations=notes)
    edf.startdate, edf.starttime = START.date(), START.time()
    edf.write(d / "annotated.edf")
    (d / "folder.edf").mkdir()
    return {"study": d / "night.edf", "hyp": d / "night.csv", "short": d / "short.csv",
            "annotated": d / "annotated.edf", "dir": d}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CACHE_DIR", str(tmp_path / "cache"))


def _png(path: Path):
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_spectrogram_png_with_the_hypnogram_under_it(files, tmp_path, capsys):
    out = tmp_path / "spec.png"
    assert main(["spectrogram", str(files["study"]), "--hypnogram", str(files["hyp"]),
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "channel: C4-M1 <- C4-M1 (128 Hz)" in text
    assert "30 epochs x 736 frequencies, 0.5-25 Hz, NW=3, 5 tapers (computed in" in text
    assert f"hypnogram: {files['hyp']}" in text
    img = _png(out)
    assert img.shape == (560, 1200, 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # a spectrogram, not a blank
    alone = tmp_path / "alone.png"
    assert main(["spectrogram", str(files["study"]), "-o", str(alone)]) == 0
    assert "hypnogram: none" in capsys.readouterr().out
    assert _png(alone).shape == (420, 1200, 3)


def test_a_second_run_reads_the_cache_and_another_channel_does_not(files, tmp_path, capsys):
    out = tmp_path / "spec.png"
    main(["spectrogram", str(files["study"]), "-o", str(out)])
    capsys.readouterr()
    assert main(["spectrogram", str(files["study"]), "-o", str(out)]) == 0
    assert "(from the cache)" in capsys.readouterr().out
    assert main(["spectrogram", str(files["study"]), "--channel", "F4-M1", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "channel: F4-M1" in text and "(computed in" in text
    assert main(["spectrogram", str(files["study"]), "--no-cache", "-o", str(out)]) == 0
    assert "(computed in" in capsys.readouterr().out


def test_the_technicians_scoring_in_the_session_is_drawn(files, tmp_path, capsys):
    from app.core.scoring.session import ScoringSession

    study = tmp_path / "night.edf"
    shutil.copy(files["study"], study)
    with ScoringSession.open(study, n_epochs=30, epoch_sec=30.0) as s:
        s.set_stages(list(range(30)), [2] * 30)
    assert main(["spectrogram", str(study), "-o", str(tmp_path / "s.png")]) == 0
    assert "hypnogram: the technician's scoring in the study's session" in \
        capsys.readouterr().out


@pytest.mark.parametrize(("argv", "words"), [
    (["--channel", "Pz-Oz"], ["no channel 'Pz-Oz'", "F4-M1, C4-M1"]),
    (["-o", "spec.jpg"], ["ending in .png"]),
    (["-o", "missing-folder/spec.png"], ["does not exist"]),
    (["--hypnogram", "nowhere.csv"], ["nowhere.csv"]),
    (["--hypnogram", "SHORT"], ["--fit"]),
])
def test_bad_input_is_one_sentence_before_the_night_is_read(files, tmp_path, capsys,
                                                            monkeypatch, argv, words):
    from app.core.signals import spectrogram

    def never(*a, **k):
        raise AssertionError("the spectrogram was computed before the input was checked")

    monkeypatch.setattr(spectrogram, "night_spectrogram", never)
    monkeypatch.chdir(tmp_path)
    argv = [str(files["short"]) if a == "SHORT" else a for a in argv]
    if "-o" not in argv:
        argv += ["-o", "spec.png"]
    assert main(["spectrogram", str(files["study"]), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("psg-lens spectrogram: error: ") and "\n" not in err
    assert all(w in err for w in words), err
    assert not list(tmp_path.rglob("*.png"))


@pytest.mark.parametrize("study", ["missing.edf", "folder.edf"])
def test_a_missing_or_folder_study_is_one_sentence(files, tmp_path, capsys, study):
    assert main(["spectrogram", str(files["dir"] / study), "-o", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and err.count("\n") == 1 and "Traceback" not in err


def test_annotations_list_clock_time_duration_text_and_reading(files, capsys):
    assert main(["annotations", str(files["annotated"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "annotated.edf: 4 annotation(s), recording started 2024-03-01 22:30:00"
    rows = lines[2:]
    assert [r.split()[0] for r in rows] == ["22:30:00", "22:40:00", "22:45:00", "22:46:40"]
    apnea = rows[1]
    assert "0:10:00.0" in apnea and "20.0 s" in apnea and "Obstructive apnea" in apnea
    assert apnea.endswith("Obstructive Apnea")  # the text as the file has it
    assert "sleep stage" in rows[2] and rows[3].split()[-2:] == ["note", "Snore"]


def test_annotations_json_and_without_stages(files, capsys):
    assert main(["annotations", str(files["annotated"]), "--json", "--no-stages"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["start_time"] == "2024-03-01T22:30:00"
    assert [(a["text"], a["reads_as"]) for a in d["annotations"]] == [
        ("Lights off", ""), ("Obstructive Apnea", "Obstructive apnea"), ("Snore", "")]
    apnea = d["annotations"][1]
    assert apnea["onset_sec"] == 600.0 and apnea["duration_sec"] == 20.0
    assert apnea["clock"] == "2024-03-01T22:40:00"


def test_a_synthetic_study_lists_its_stage_annotations(files, capsys):
    assert main(["annotations", str(files["study"]), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["annotations"]
    assert rows[0]["text"] == "Lights off" and rows[-1]["text"] == "Lights on"
    assert {r["reads_as"] for r in rows} >= {"sleep stage"}
    assert [r["onset_sec"] for r in rows] == sorted(r["onset_sec"] for r in rows)


def test_annotations_of_a_missing_study_is_one_sentence(files, capsys):
    assert main(["annotations", str(files["dir"] / "missing.edf")]) == 2
    assert "There is no file at" in capsys.readouterr().err
