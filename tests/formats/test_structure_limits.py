"""Hypnogram files too large, nested too deep, with implausible epochs or a bad line.

Each is one FormatError sentence that names the file and what is wrong with it (the
size, the nesting, the epoch length and where it is stated, the line of the bad row),
said before any parsing where it can be. Never a RecursionError or csv.Error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.files.limits import HYPNOGRAM_MAX_BYTES, MAX_NESTING, MiB
from app.core.formats import read_hypnogram
from app.errors import FormatError

DEEP = 100_000  # deep enough that Python's own JSON parser raises RecursionError


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _sparse(path: Path, size: int, start: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (and no time) to make."""
    with open(path, "wb") as f:
        f.write(start)
        f.truncate(size)
    return path


# -- size -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, name", [
    ("csv", "night.csv"), ("tsv", "night.tsv"), ("text", "night.txt"),
    ("yasa-json", "night.json"), ("dreem-json", "dreem.json"), ("nsrr", "nsrr.xml"),
    ("profusion", "cmp.xml"), ("bids", "sub-1_events.tsv")])
def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, fmt: str, name: str,
                                                      monkeypatch) -> None:
    path = _sparse(tmp_path / name, HYPNOGRAM_MAX_BYTES + 1, b"stage\nW\n")
    monkeypatch.setattr(Path, "read_bytes", lambda *a: pytest.fail("read a huge file whole"))
    with pytest.raises(FormatError, match=rf"^{name} is 64 MiB, larger than a hypnogram file "
                                          r"can be \(64 MiB at most\); check that it is the "
                                          "right file"):
        read_hypnogram(path, format=fmt)


def test_a_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.txt", "W\n" * 1000 + "\n" * (2 * MiB))  # blank tail
    assert read_hypnogram(path).n_epochs == 1000


def test_an_oversized_bids_sidecar_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "sub-1_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n")
    _sparse(tmp_path / "sub-1_events.json", 65 * MiB, b"{")
    with pytest.raises(FormatError, match=r"^sub-1_events.json is 65 MiB, larger than a "
                                          "hypnogram file can be"):
        read_hypnogram(path)


# -- nesting --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, content", [
    ("yasa-json", '{"values": ["W"],\n "extra": ' + "[" * DEEP + "]" * DEEP + "}"),
    ("dreem-json", "[0,\n" + "[" * DEEP + "]" * DEEP + "]"),
    ("yasa-json", '{"values": ["W"],\n "extra": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"),
], ids=["yasa-lists", "dreem-lists", "yasa-objects"])
def test_json_nested_absurdly_deep_is_refused_before_parsing(tmp_path: Path, fmt: str,
                                                             content: str) -> None:
    path = _write(tmp_path / "deep.json", content)
    with pytest.raises(FormatError, match=rf"^deep.json, line 2: the JSON is nested more than "
                                          rf"{MAX_NESTING} levels deep, which a hypnogram "
                                          "file never is; it was not read"):
        read_hypnogram(path, format=fmt)


def test_brackets_inside_strings_are_not_nesting(tmp_path: Path) -> None:
    scorer = '[[[[{{{{"' * 40  # 320 brackets and quotes in one JSON string
    path = _write(tmp_path / "s.json", json.dumps({"values": ["W", "N2"], "scorer": scorer}))
    assert read_hypnogram(path).scorer == scorer


def test_modest_nesting_in_extra_metadata_is_fine(tmp_path: Path) -> None:
    extra = json.loads("[" * 20 + "1" + "]" * 20)
    path = _write(tmp_path / "m.json", json.dumps({"values": ["W", "N1"], "extra": extra}))
    assert read_hypnogram(path).labels() == ["W", "N1"]


def test_a_deep_bids_sidecar_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "sub-1_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n")
    _write(tmp_path / "sub-1_events.json", "{\n" + '"a": [' * DEEP + "]" * DEEP + "}")
    with pytest.raises(FormatError, match=r"^sub-1_events.json, line 2: the JSON is nested "
                                          "more than"):
        read_hypnogram(path)


@pytest.mark.parametrize("root, fmt", [("PSGAnnotation", "nsrr"),
                                       ("CMPStudyConfig", "profusion")])
def test_xml_nested_absurdly_deep_is_refused(tmp_path: Path, root: str, fmt: str) -> None:
    path = _write(tmp_path / "deep.xml", f"<{root}>" + "<Note>" * DEEP + "</Note>" * DEEP
                  + f"</{root}>")
    with pytest.raises(FormatError, match=rf"^deep.xml: the XML nests elements more than "
                                          rf"{MAX_NESTING} levels deep \(at <Note>\), which a "
                                          "hypnogram file never does"):
        read_hypnogram(path)
    with pytest.raises(FormatError, match="more than 64 levels deep"):
        read_hypnogram(path, format=fmt)


def test_a_number_thousands_of_digits_long_is_a_sentence(tmp_path: Path) -> None:
    path = _write(tmp_path / "n.json", '{"values": ["W"], "n_stages": ' + "9" * 5000 + "}")
    with pytest.raises(FormatError, match="^n.json holds a number thousands of digits long"):
        read_hypnogram(path)


# -- epoch length ---------------------------------------------------------------------
def _csv(epoch: str) -> str:
    return f"# psg-lens hypnogram; epoch_sec={epoch}\nstage\nW\nN1\n"


@pytest.mark.parametrize("name, content, words", [
    ("zero.csv", _csv("0"), "the epoch length 0 in its header comment is not a positive"),
    ("neg.csv", _csv("-30"), "the epoch length -30 in its header comment is not a positive"),
    ("nan.csv", _csv("nan"), "the epoch length nan in its header comment is not a positive"),
    ("inf.csv", _csv("inf"), "the epoch length inf in its header comment is not a positive"),
    ("tiny.csv", _csv("0.001"), r"the epoch length 0.001 in its header comment is outside "
                                r"1-300 s"),
    ("day.csv", _csv("86400"), "the epoch length 86400 in its header comment is outside"),
    ("onsets.csv", "onset_sec,stage\n0,W\n0.01,N1\n0.02,N2\n",
     "the epoch length 0.01 in its onsets is outside 1-300 s"),
    ("freq0.json", '{"values": ["W"], "freq": "0s"}', "the epoch length 0 in 'freq' is not a "
                                                      "positive"),
    ("freqh.json", '{"values": ["W"], "freq": "10min"}', "the epoch length 600 in 'freq' is "
                                                         "outside"),
    ("n.xml", "<PSGAnnotation><EpochLength>0.5</EpochLength><ScoredEvents><ScoredEvent>"
              "<EventType>Stages|Stages</EventType><EventConcept>Wake|0</EventConcept>"
              "<Start>0</Start><Duration>30</Duration></ScoredEvent></ScoredEvents>"
              "</PSGAnnotation>", "the epoch length 0.5 in <EpochLength> is outside"),
    ("p.xml", "<CMPStudyConfig><EpochLength>-30</EpochLength><SleepStages><SleepStage>0"
              "</SleepStage></SleepStages></CMPStudyConfig>",
     "the epoch length -30 in <EpochLength> is not a positive"),
])
def test_an_implausible_epoch_length_in_a_file_is_refused(tmp_path: Path, name: str,
                                                          content: str, words: str) -> None:
    with pytest.raises(FormatError, match=rf"^{name}: {words}"):
        read_hypnogram(_write(tmp_path / name, content))


@pytest.mark.parametrize("stated, words", [
    ("true", "EpochLength true is not a number of seconds"),
    ('"30"', 'EpochLength "30" is not a number of seconds'),
    ("0", r"the epoch length 0 in its sidecar \(EpochLength\) is not a positive"),
    ("900", r"the epoch length 900 in its sidecar \(EpochLength\) is outside 1-300 s"),
])
def test_bids_sidecar_epoch_length(tmp_path: Path, stated: str, words: str) -> None:
    path = _write(tmp_path / "sub-1_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n")
    _write(tmp_path / "sub-1_events.json", '{"PSGLens": {"EpochLength": ' + stated + "}}")
    with pytest.raises(FormatError, match=rf"^sub-1_events.(tsv|json): {words}"):
        read_hypnogram(path)


@pytest.mark.parametrize("asked, words", [
    (float("inf"), "must be positive, not inf"), (float("nan"), "must be positive, not nan"),
    (0.0, "must be positive, not 0"), (0.5, r"\(0.5\) is outside 1-300 s"),
    (1000.0, r"\(1000\) is outside 1-300 s")])
def test_an_implausible_epoch_length_asked_for_is_refused(tmp_path: Path, asked: float,
                                                          words: str) -> None:
    path = _write(tmp_path / "t.txt", "W\nN1\nN2\n")
    with pytest.raises(FormatError, match=rf"^The epoch length asked for t.txt {words}"):
        read_hypnogram(path, epoch_sec=asked)


@pytest.mark.parametrize("epoch", [30, 20, 1, 300])
def test_usual_epoch_lengths_still_read(tmp_path: Path, epoch: int) -> None:
    assert read_hypnogram(_write(tmp_path / "e.csv", _csv(str(epoch)))).epoch_sec == epoch
    text = _write(tmp_path / "e.txt", "W\nN2\n")
    assert read_hypnogram(text, epoch_sec=epoch).epoch_sec == epoch


# -- the line a message names ---------------------------------------------------------
def test_csv_line_after_a_line_separator_inside_a_cell(tmp_path: Path) -> None:
    # U+2028 (pasted from a web page) is no line break for an editor or a spreadsheet
    path = _write(tmp_path / "u.csv", "stage,note\nW,see\u2028above\nN2,x\nN9,bad\n")
    with pytest.raises(FormatError, match=r"'N9' in u.csv, line 4\."):
        read_hypnogram(path)


def test_csv_row_with_a_quoted_line_break_is_named_by_its_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.csv", 'stage,note\nW,ok\nN9,"two\nlines"\nN2,x\n')
    with pytest.raises(FormatError, match=r"'N9' in q.csv, line 3\."):
        read_hypnogram(path)


def test_csv_line_after_comments_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", b"# exported\r\n# by hand\r\n\r\nstage\r\nW\r\nN1\r\n"
                                      b"XX\r\n")
    with pytest.raises(FormatError, match=r"'XX' in c.csv, line 7\."):
        read_hypnogram(path)


def test_tsv_bad_onset_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "o.tsv", "onset_sec\tstage\n0\tW\n30\tN1\n60x\tN2\n")
    with pytest.raises(FormatError, match=r"^o.tsv, line 4: '60x' is not a number"):
        read_hypnogram(path)


def test_a_cell_over_the_csv_field_limit_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.csv", "stage,note\nW,a\nN1," + "x" * 200_000 + "\n")
    with pytest.raises(FormatError, match=r"^big.csv, line 3: the row cannot be read as a "
                                          "table"):
        read_hypnogram(path)


def test_text_line_with_a_form_feed(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.txt", "W\nN1\fN2\nN2\n")
    with pytest.raises(FormatError, match=r"in f.txt, line 2\."):
        read_hypnogram(path, format="text")


def test_text_bad_label_names_its_line_after_comments(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.txt", "# scorer A\nW\nN1\n# lights on\nN2\nZZ\n")
    with pytest.raises(FormatError, match=r"'ZZ' in t.txt, line 6\."):
        read_hypnogram(path)


def test_json_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "j.json", '{\n  "values": [\n    "W",\n    "N1"\n    "N2"\n  ]\n}\n')
    with pytest.raises(FormatError, match=r"^j.json, line 5: not valid JSON"):
        read_hypnogram(path)


def test_bids_sidecar_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "sub-1_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n")
    _write(tmp_path / "sub-1_events.json", '{\n  "PSGLens": {\n    "EpochLength": 30,\n  }\n}')
    with pytest.raises(FormatError, match=r"^sub-1_events.json, line 4: the BIDS sidecar is "
                                          "not valid JSON"):
        read_hypnogram(path)


def test_xml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xml", "<?xml version='1.0'?>\n<CMPStudyConfig>\n"
                  "<EpochLength>30</EpochLength>\n<SleepStages>\n<SleepStage>0</SleepStage>\n"
                  "<SleepStage>1</SleepStag>\n</SleepStages>\n</CMPStudyConfig>\n")
    with pytest.raises(FormatError, match=r"^x.xml, line 6: not well-formed XML"):
        read_hypnogram(path)
