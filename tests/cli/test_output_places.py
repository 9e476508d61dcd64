"""Commands check where they will write, and their numbers, before any long work."""

from __future__ import annotations

import time

import pytest
from models import cached, full_bundle, study

from app.cli import main


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    return study(tmp_path_factory.mktemp("out") / "night.edf", 4)


def _fails_fast(argv, words, capsys):
    t0 = time.perf_counter()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err, err
    return time.perf_counter() - t0


@pytest.mark.parametrize("folder_named_like_the_file", [False, True])
def test_score_report_and_synth_refuse_a_place_they_cannot_write(
        tmp_path, tmp_path_factory, night, capsys, folder_named_like_the_file):
    bundle = str(cached(full_bundle, tmp_path_factory))
    if folder_named_like_the_file:        # -o x.csv where x.csv is a folder
        words = "it is a folder; give a file name"
        targets = [tmp_path / f"x{ext}" for ext in (".csv", ".pdf", ".edf")]
        for t in targets:
            t.mkdir()
    else:                                 # -o afile.txt/x.csv: the "folder" is a file
        words = "it is a file, not a folder"
        (tmp_path / "afile.txt").write_text("x")
        targets = [tmp_path / "afile.txt" / f"x{ext}" for ext in (".csv", ".pdf", ".edf")]
    csv, pdf, edf = (str(t) for t in targets)
    _fails_fast(["score", str(night), "--model", bundle, "--device", "cpu", "-o", csv],
                words, capsys)
    _fails_fast(["report", str(night), "--hypnogram", str(night), "-o", pdf], words, capsys)
    _fails_fast(["synth", "--hours", "0.1", "-o", edf], words, capsys)
    _fails_fast(["synth", "--hours", "0.1", "-o", str(tmp_path / "ok.edf"), "--events",
                 csv], words, capsys)
    assert not (tmp_path / "ok.edf").exists()  # nothing written before the check


def test_a_read_only_file_is_refused_before_scoring(tmp_path, tmp_path_factory, night,
                                                    capsys):
    import os

    out = tmp_path / "night.csv"
    out.write_text("old")
    out.chmod(0o444)
    if os.access(out, os.W_OK):
        pytest.skip("this user (root) can write read-only files")
    _fails_fast(["score", str(night), "--model", str(cached(full_bundle, tmp_path_factory)),
                 "-o", str(out)], "read-only", capsys)


def test_out_dir_that_is_a_file_is_refused(tmp_path, night, capsys):
    (tmp_path / "scored").write_text("x")
    _fails_fast(["score", str(night), "--out-dir", str(tmp_path / "scored")],
                "it is a file, not a folder", capsys)


@pytest.mark.parametrize("argv, words", [
    (["synth", "--hours", "1000", "-o", "{tmp}/x.edf"], "at most 48"),
    (["synth", "--hours", "0", "-o", "{tmp}/x.edf"], "more than 0"),
    (["synth", "--hours", "nan", "-o", "{tmp}/x.edf"], "not nan"),
    (["score", "{night}", "--smooth", "--prior-weight", "-1", "-o", "{tmp}/x.csv"],
     "--prior-weight must be between 0"),
    (["score", "{night}", "--smooth", "--prior-weight", "inf", "-o", "{tmp}/x.csv"],
     "not inf"),
])
def test_numbers_are_range_checked_up_front(tmp_path, night, capsys, argv, words):
    argv = [a.format(tmp=tmp_path, night=night) for a in argv]
    _fails_fast(argv, words, capsys)
    assert not list(tmp_path.glob("x.*"))
