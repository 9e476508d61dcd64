"""The command line: each subcommand works, and bad input gets one sentence, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    from app.core.synth import synthesize, write_edf

    folder = tmp_path_factory.mktemp("cli")
    study = synthesize(hours=0.5, seed=4)
    write_edf(study, folder / "night.edf")
    return folder, study


def test_info(night, capsys):
    folder, _ = night
    assert main(["info", str(folder / "night.edf"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["epochs"] == 60 and d["slots"]["C4-M1"]["source"] == "C4-M1"
    assert {c["role"] for c in d["channels"]} >= {"EEG", "EOG", "EMG", "ECG"}


def test_render_writes_a_png(night, tmp_path):
    from PIL import Image

    folder, _ = night
    out = tmp_path / "e.png"
    assert main(["render", str(folder / "night.edf"), "--epoch", "5", "--spec", "paper",
                 "-o", str(out)]) == 0
    assert Image.open(out).size == (336, 336)
    jpg = tmp_path / "e.JPG"
    assert main(["render", str(folder / "night.edf"), "--epoch", "5", "-o", str(jpg)]) == 0
    assert Image.open(jpg).format == "JPEG" and not (tmp_path / "e.JPG.part").exists()


def test_render_numbers_epochs_as_the_window_and_the_csv(night, tmp_path):
    # "--epoch 5" is the epoch the window calls "Epoch 5" and the CSV's row epoch=5
    from PIL import Image

    from app.core.inference.engine import resolve_sources
    from app.core.signals.recording import Recording
    from app.core.signals.render import render_epoch
    from app.core.signals.render_spec import RenderSpec

    folder, _ = night
    out = tmp_path / "e.png"
    assert main(["render", str(folder / "night.edf"), "--epoch", "5", "-o", str(out)]) == 0
    rec = Recording.open(folder / "night.edf")
    spec = RenderSpec.preset("clinical")
    want = render_epoch(rec, spec, 4, resolve_sources(rec, spec))
    assert np.array_equal(np.asarray(Image.open(out)), want)


def test_synth_is_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a.edf", tmp_path / "b.edf"
    for p in (a, b):
        assert main(["synth", "--hours", "0.25", "--seed", "9", "-o", str(p),
                     "--events", str(p.with_suffix(".tsv"))]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert "kind\tchannel\tonset" in a.with_suffix(".tsv").read_text()


def test_synth_driven_by_a_hypnogram_file(tmp_path):
    from app.core.signals.recording import Recording

    hyp = tmp_path / "h.txt"
    hyp.write_text("\n".join(["W"] * 4 + ["N2"] * 6))
    out = tmp_path / "s.edf"
    assert main(["synth", "--hypnogram", str(hyp), "--seed", "1", "-o", str(out)]) == 0
    assert Recording.open(out).n_epochs == 10


def test_synth_annotates_an_old_subjects_n3_without_slow_waves_as_n2(tmp_path, capsys):
    """Seed 6 draws an 85-year-old: driven by N3, the file's stages are what a scorer
    would give (app.core.synth.scored), and the command says how many it changed."""
    from app.core.formats import read_hypnogram

    hyp = tmp_path / "h.txt"
    hyp.write_text("\n".join(["N2"] * 2 + ["N3"] * 10))
    out = tmp_path / "s.edf"
    assert main(["synth", "--hypnogram", str(hyp), "--seed", "6", "--varied",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    stages = read_hypnogram(out).stages
    changed = int((stages[2:] == 2).sum())
    assert changed >= 5 and (stages[:2] == 2).all() and set(stages.tolist()) <= {2, 3}
    assert f"{changed} N3 epochs of the drive came out with slow waves under the AASM 20 % " \
           "rule" in text
    assert f"'N2': {2 + changed}" in text


def test_convert_stats_agree_report(night, tmp_path, capsys):
    from app.core.formats import read_hypnogram, write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    folder, study = night
    truth = Hypnogram(study.stages, start_time=study.start_time)
    write_hypnogram(truth, tmp_path / "truth.csv")
    other = truth.copy()
    other.stages[::5] = 2
    write_hypnogram(other, tmp_path / "other.txt")
    assert main(["convert", str(tmp_path / "truth.csv"), str(tmp_path / "t.xml"),
                 "--to", "nsrr"]) == 0
    assert np.array_equal(read_hypnogram(tmp_path / "t.xml").stages, truth.stages)
    assert main(["stats", str(tmp_path / "t.xml"), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["tst_min"] > 0
    assert main(["agree", str(tmp_path / "truth.csv"), str(tmp_path / "other.txt")]) == 0
    assert "Cohen's kappa" in capsys.readouterr().out
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(folder / "night.edf"), "--hypnogram",
                 str(tmp_path / "truth.csv"), "--model-hypnogram", str(tmp_path / "other.txt"),
                 "-o", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("argv, message", [
    (["info", "/nonexistent/x.edf"], "There is no file at"),
    (["render", "{study}", "--epoch", "999", "-o", "{tmp}/x.png"], "Epoch 999 is out of range"),
    (["render", "{study}", "--epoch", "0", "-o", "{tmp}/x.png"], "numbered from 1"),
    (["render", "{study}", "--epoch", "1", "--spec", "fancy", "-o", "{tmp}/x.png"],
     "Unknown render preset"),
    (["render", "{study}", "--epoch", "1", "-o", "{tmp}/x.gif"], "give a .png"),
    (["render", "{study}", "--epoch", "1", "-o", "{tmp}/no/such/x.png"], "does not exist"),
    (["stats", "{tmp}/empty.csv"], "empty"),
    (["agree", "{tmp}/ten.txt", "{tmp}/eleven.txt"], "has 10 epochs but"),
])
def test_bad_input_is_one_sentence(night, tmp_path, capsys, argv, message):
    folder, _ = night
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ten.txt").write_text("W\n" * 10)
    (tmp_path / "eleven.txt").write_text("W\n" * 11)
    argv = [a.format(study=folder / "night.edf", tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_report_refuses_a_hypnogram_of_another_length_unless_asked_to_fit(night, tmp_path,
                                                                          capsys):
    import datetime as dt

    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram

    folder, study = night
    short = Hypnogram(study.stages[:40], start_time=study.start_time)
    write_hypnogram(short, tmp_path / "short.csv")
    pdf = tmp_path / "r.pdf"
    args = ["report", str(folder / "night.edf"), "--hypnogram", str(tmp_path / "short.csv"),
            "-o", str(pdf)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "has 40 epochs" in err and "the study has 60" in err and "--fit" in err
    assert not pdf.exists()
    assert main([*args, "--fit"]) == 0
    assert "0 epoch(s) dropped, 20 left unscored" in capsys.readouterr().err
    assert pdf.read_bytes()[:5] == b"%PDF-"
    far = Hypnogram(study.stages, start_time=study.start_time + dt.timedelta(days=1))
    write_hypnogram(far, tmp_path / "far.csv")
    assert main(["report", str(folder / "night.edf"), "--hypnogram", str(tmp_path / "far.csv"),
                 "--fit", "-o", str(pdf)]) == 2
    assert "does not overlap the study" in capsys.readouterr().err
