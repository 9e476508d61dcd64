"""Bad files give one FormatError sentence that names the file and the place in it.

Never a KeyError, IndexError or a traceback: the last tests feed truncated and corrupted
versions of valid files in every format and accept only success or FormatError.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import edfio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.formats import FORMATS, detect_format, read_hypnogram, write_hypnogram
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage
from app.errors import FormatError


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _edf(path: Path, anns: list[tuple[float, float, str]]) -> Path:
    edf = edfio.Edf([], annotations=[edfio.EdfAnnotation(*a) for a in anns],
                    starttime=dt.time(23, 0),
                    recording=edfio.Recording(startdate=dt.date(2020, 1, 1)))
    edf.write(path)
    return path


# -- files that are no hypnogram at all ---------------------------------------------------
@pytest.mark.parametrize("name", ["night.csv", "night.json", "night.xml", "night.edf",
                                  "night.txt"])
@pytest.mark.parametrize("content", ["", "  \n\n \t\n"], ids=["empty", "blank"])
def test_empty_file(tmp_path: Path, name: str, content: str) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(FormatError, match=rf"{name} is empty"):
        read_hypnogram(path)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_empty_file_with_format_named(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / "night.dat", "")
    with pytest.raises(FormatError, match="night.dat"):
        read_hypnogram(path, format=fmt)


def test_binary_junk(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.csv", bytes(np.random.default_rng(0).integers(0, 256, 4000,
                                                                                   np.uint8)))
    with pytest.raises(FormatError, match="night.csv is not a hypnogram: it holds binary"):
        read_hypnogram(path)


def test_edf_without_annotations(tmp_path: Path) -> None:
    path = _write(tmp_path / "psg.edf", b"0       " + b" " * 248 + b"\x00" * 100)
    with pytest.raises(FormatError, match="psg.edf is an EDF file without EDF\\+ annotations"):
        read_hypnogram(path)


def test_truncated_edf(tmp_path: Path) -> None:
    good = _edf(tmp_path / "good.edf", [(0, 60, "Sleep stage W")])
    path = _write(tmp_path / "cut.edf", good.read_bytes()[:300])
    with pytest.raises(FormatError, match="cut.edf"):
        read_hypnogram(path)


def test_xml_with_wrong_root(tmp_path: Path) -> None:
    path = _write(tmp_path / "study.xml", '<?xml version="1.0"?>\n<!-- c -->\n<Study><a/></Study>')
    with pytest.raises(FormatError, match="study.xml: the XML root element is <Study>"):
        read_hypnogram(path)
    with pytest.raises(FormatError, match="root element is <Study>, not <PSGAnnotation>"):
        read_hypnogram(path, format="nsrr")


def test_xml_entities_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "lol.xml", '<?xml version="1.0"?>\n<!DOCTYPE PSGAnnotation [\n'
                  '<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
                  "<PSGAnnotation><ScoredEvents/></PSGAnnotation>")
    with pytest.raises(FormatError, match="lol.xml declares XML entities"):
        read_hypnogram(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_xml_entities_refused_in_any_encoding(tmp_path: Path, encoding: str) -> None:
    text = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
            '<!DOCTYPE PSGAnnotation [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
            "<PSGAnnotation><ScoredEvents/></PSGAnnotation>")
    path = tmp_path / "lol.xml"
    path.write_bytes(text.encode(encoding))
    assert b"<!ENTITY" not in path.read_bytes()  # a byte search cannot see it
    with pytest.raises(FormatError, match="lol.xml declares XML entities"):
        read_hypnogram(path, format="nsrr")


def test_an_external_entity_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xml", '<?xml version="1.0"?>\n<!DOCTYPE PSGAnnotation [\n'
                  '<!eNtItY x SYSTEM "file:///etc/passwd">]>\n'
                  "<PSGAnnotation><ScoredEvents>&x;</ScoredEvents></PSGAnnotation>")
    with pytest.raises(FormatError, match="declares XML entities"):
        read_hypnogram(path, format="nsrr")


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "n.xml", "<PSGAnnotation>\n<ScoredEvents>\n<ScoredEvent>\n"
                  "</ScoredEvents>\n</PSGAnnotation>\n")
    with pytest.raises(FormatError, match=r"n.xml, line 4: not well-formed XML"):
        read_hypnogram(path)


def test_json_problems(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"a.json, line 2: not valid JSON"):
        read_hypnogram(_write(tmp_path / "a.json", "[0,\n 1,,]"))
    with pytest.raises(FormatError, match=r"b.json, epoch 3: \[1\] is neither"):
        read_hypnogram(_write(tmp_path / "b.json", "[0, 1, [1]]"))
    with pytest.raises(FormatError, match="c.json is a JSON object without the 'values'"):
        read_hypnogram(_write(tmp_path / "c.json", '{"stages": [0, 1]}'))
    with pytest.raises(FormatError, match="d.json looks like a BIDS sidecar"):
        read_hypnogram(_write(tmp_path / "d.json", '{"onset": {"Units": "s"}}'))
    with pytest.raises(FormatError, match="f.json is a JSON list, but not of stage codes"):
        read_hypnogram(_write(tmp_path / "f.json", '[{"label": "EEG Fpz-Cz"}]'))
    with pytest.raises(FormatError, match="g.json holds no sleep stages"):
        read_hypnogram(_write(tmp_path / "g.json", "[]"))
    with pytest.raises(FormatError, match="e.json: 'proba' has shape"):
        read_hypnogram(_write(tmp_path / "e.json", '{"values": ["W"], "proba": [[1, 0]]}'))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="nope.csv does not exist"):
        read_hypnogram(tmp_path / "nope.csv")
    with pytest.raises(FormatError, match="is a folder"):
        read_hypnogram(tmp_path)
    with pytest.raises(FormatError, match="the folder .* does not exist"):
        write_hypnogram(Hypnogram.from_labels(["W"]), tmp_path / "no" / "x.csv")


def test_unknown_format_extension_and_option(tmp_path: Path) -> None:
    hyp = Hypnogram.from_labels(["W"])
    with pytest.raises(FormatError, match="Unknown hypnogram format 'rtf'"):
        write_hypnogram(hyp, tmp_path / "a.csv", format="rtf")
    with pytest.raises(FormatError, match="Cannot tell the format of a.docx"):
        write_hypnogram(hyp, tmp_path / "a.docx")
    with pytest.raises(FormatError, match="The csv format has no option labels"):
        write_hypnogram(hyp, tmp_path / "a.csv", labels="int")
    assert list(tmp_path.iterdir()) == []


def test_unrecognised_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.txt", "Dear technician,\nplease score this night.\n")
    with pytest.raises(FormatError, match="notes.txt is not a hypnogram format"):
        read_hypnogram(path)


# -- tables -------------------------------------------------------------------------------
def test_csv_without_stage_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "epoch,score\n1,W\n")
    with pytest.raises(FormatError, match=r"t.csv, line 1: the table has no stage column"):
        read_hypnogram(path)
    with pytest.raises(FormatError, match=r"t.csv, line 1: there is no stage column"):
        read_hypnogram(path, format="csv")


@pytest.mark.parametrize("header", ["stage", "Stage", "HYPNOGRAM", "label"])
def test_minimal_csv(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path / "m.csv", f"{header}\nW\nN1\nS2\nSleep stage 4\nR\n")
    assert read_hypnogram(path).labels() == ["W", "N1", "N2", "N3", "REM"]


def test_unknown_label_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "u.csv", "# a comment\nstage\nW\nbanana\n")
    with pytest.raises(FormatError, match=r"'banana' in u.csv, line 4"):
        read_hypnogram(path)
    assert read_hypnogram(path, unknown="unscored").labels() == ["W", "Unscored"]
    txt = _write(tmp_path / "u.txt", "0\n1\n7\n")
    with pytest.raises(FormatError, match=r"u.txt, line 3: the stage code 7"):
        read_hypnogram(txt)
    assert read_hypnogram(txt, unknown="unscored").labels() == ["W", "N1", "Unscored"]


def test_csv_inconsistent_epochs(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "epoch,onset_sec,stage\n1,0,W\n2,30,W\n3,90,N1\n")
    with pytest.raises(FormatError, match=r"e.csv, line 4: onset 90 s breaks the 30-s"):
        read_hypnogram(path)
    path = _write(tmp_path / "j.csv", "epoch,stage\n1,W\n2,W\n4,N1\n")
    with pytest.raises(FormatError, match=r"j.csv, line 4: the epoch numbers jump from 2"):
        read_hypnogram(path)
    path = _write(tmp_path / "h.csv", "# psg-lens hypnogram; epoch_sec=20\nonset_sec,stage\n"
                  "0,W\n30,W\n")
    with pytest.raises(FormatError, match="h.csv: the onsets are 30 s apart but the header"):
        read_hypnogram(path)
    with pytest.raises(FormatError, match="epoch length asked for k.csv must be positive"):
        read_hypnogram(_write(tmp_path / "k.csv", "stage\nW\n"), epoch_sec=-1)


def test_text_blank_line_in_the_middle(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.txt", "W\nN1\n\nN2\n\n")
    with pytest.raises(FormatError, match=r"b.txt, line 3 is empty"):
        read_hypnogram(path)


def test_bids_problems(tmp_path: Path) -> None:
    path = _write(tmp_path / "x_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n30\t30\n")
    with pytest.raises(FormatError, match=r"x_events.tsv, line 3: 2 fields"):
        read_hypnogram(path)
    path = _write(tmp_path / "y_events.tsv", "onset\tduration\ttrial_type\n0\t30\tW\n")
    _write(tmp_path / "y_events.json", "{oops")
    with pytest.raises(FormatError, match=r"y_events.json, line 1: the BIDS sidecar"):
        read_hypnogram(path)
    # a dataset's own codes, described in the sidecar
    path = _write(tmp_path / "z_events.tsv", "onset\tduration\tvalue\n0\t30\t1\n30\t60\t5\n")
    _write(tmp_path / "z_events.json", json.dumps(
        {"value": {"Levels": {"1": "Wake", "5": "REM sleep"}}}))
    assert read_hypnogram(path).labels() == ["W", "REM", "REM"]


# -- events: gaps, overlaps, epoch lengths ------------------------------------------------
def test_edf_gap_becomes_unscored_with_a_warning(tmp_path: Path) -> None:
    path = _edf(tmp_path / "g.edf", [(30, 60, "Sleep stage W"), (150, 30, "Sleep stage 2"),
                                     (180, 0, "Arousal")])
    hyp = read_hypnogram(path)
    assert hyp.labels() == ["Unscored", "W", "W", "Unscored", "Unscored", "N2"]
    warnings = " ".join(hyp.meta["warnings"])
    assert "No stage from 0 s to 30 s (1 epoch)" in warnings
    assert "No stage from 90 s to 150 s (2 epochs)" in warnings
    assert "'Arousal' x1" in warnings


def test_edf_overlap_names_the_onset(tmp_path: Path) -> None:
    path = _edf(tmp_path / "o.edf", [(0, 90, "Sleep stage W"), (60, 30, "Sleep stage 2")])
    with pytest.raises(FormatError, match=r"o.edf: the stage at onset 60 s .* overlaps the "
                                          r"previous stage, which runs until 90 s"):
        read_hypnogram(path)


def test_edf_inconsistent_epoch_length(tmp_path: Path) -> None:
    path = _edf(tmp_path / "i.edf", [(0, 60, "Sleep stage W"), (60, 45, "Sleep stage 1"),
                                     (105, 30, "Sleep stage 2")])
    with pytest.raises(FormatError, match=r"i.edf: the stage at onset 60 s .* lasts 45 s"):
        read_hypnogram(path)
    # 20-s epochs are recognised when some stage lasts exactly one of them
    path = _edf(tmp_path / "t.edf", [(0, 40, "Sleep stage W"), (40, 20, "Sleep stage 1")])
    hyp = read_hypnogram(path)
    assert hyp.epoch_sec == 20 and hyp.labels() == ["W", "W", "N1"]


def test_edf_unknown_stage_text(tmp_path: Path) -> None:
    path = _edf(tmp_path / "s.edf", [(0, 30, "Sleep stage W"), (30, 30, "Sleep stage X")])
    with pytest.raises(FormatError, match=r"'Sleep stage X' in s.edf, annotation 2 \(onset 30"):
        read_hypnogram(path)
    assert read_hypnogram(path, unknown="unscored").labels() == ["W", "Unscored"]


NSRR = """<?xml version="1.0"?>
<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>
<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>
<Duration>300</Duration><ClockTime>00.00.00 22.30.00</ClockTime></ScoredEvent>
<ScoredEvent><EventType>Respiratory|Respiratory</EventType>
<EventConcept>Obstructive apnea|Obstructive Apnea</EventConcept><Start>12.5</Start>
<Duration>14</Duration></ScoredEvent>
{stages}
</ScoredEvents></PSGAnnotation>"""


def _nsrr_stage(concept: str, start: float, duration: float) -> str:
    return (f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>{concept}"
            f"</EventConcept><Start>{start}</Start><Duration>{duration}</Duration>"
            "</ScoredEvent>")


def test_nsrr_reads_and_checks(tmp_path: Path) -> None:
    ok = NSRR.format(stages=_nsrr_stage("Wake|0", 0, 60) + _nsrr_stage("Stage 4 sleep|4", 60,
                                                                      30)
                     + _nsrr_stage("Movement|6", 90, 30) + _nsrr_stage("REM sleep|5", 150, 30))
    hyp = read_hypnogram(_write(tmp_path / "ok.xml", ok))
    assert hyp.labels() == ["W", "W", "N3", "Artifact", "Unscored", "REM"]
    assert hyp.start_time is None and hyp.meta["clock_time"] == "22:30:00"
    assert hyp.meta["skipped_events"] == 1
    bad = NSRR.format(stages=_nsrr_stage("Wake|0", 0, 45))
    with pytest.raises(FormatError, match=r"bad.xml: the stage at onset 0 s \(ScoredEvent 3"):
        read_hypnogram(_write(tmp_path / "bad.xml", bad))
    odd = NSRR.format(stages=_nsrr_stage("Dreaming|7", 0, 30))
    with pytest.raises(FormatError, match=r"'Dreaming\|7' in odd.xml, ScoredEvent 3"):
        read_hypnogram(_write(tmp_path / "odd.xml", odd))
    with pytest.raises(FormatError, match="states 30-s epochs in <EpochLength> but 20-s"):
        read_hypnogram(tmp_path / "ok.xml", epoch_sec=20)


def test_profusion_codes(tmp_path: Path) -> None:
    xml = ("<CMPStudyConfig><EpochLength>30</EpochLength><SleepStages>"
           + "".join(f"<SleepStage>{c}</SleepStage>" for c in (0, 1, 2, 3, 4, 5, 6, 9, 8))
           + "</SleepStages></CMPStudyConfig>")
    path = _write(tmp_path / "cmp.xml", xml)
    with pytest.raises(FormatError, match=r"cmp.xml, SleepStage 9 \(epoch 9\): the stage code 8"):
        read_hypnogram(path)
    hyp = read_hypnogram(path, unknown="unscored")
    assert hyp.labels() == ["W", "N1", "N2", "N3", "N3", "REM", "Artifact", "Unscored",
                            "Unscored"]


def test_yasa_json_epoch_mismatch(tmp_path: Path) -> None:
    path = _write(tmp_path / "y.json", '{"values": ["W", "N1"], "freq": "30s"}')
    with pytest.raises(FormatError, match="y.json states 30-s epochs in 'freq' but 20-s"):
        read_hypnogram(path, epoch_sec=20)
    path = _write(tmp_path / "f.json", '{"values": ["W"], "freq": "often"}')
    with pytest.raises(FormatError, match="f.json: the epoch length 'freq'"):
        read_hypnogram(path)


# -- fuzz: corrupted valid files raise FormatError or read, never anything else -----------
def _valid_files(folder: Path) -> list[Path]:
    hyp = Hypnogram(np.array([0, 0, 1, 2, 2, 3, 4, -1, -2, 2], np.int8),
                    start_time=dt.datetime(2020, 5, 6, 22, 0), scorer="t1",
                    probabilities=np.full((10, 5), 0.2))
    names = {"edf": "n.edf", "nsrr": "n.xml", "profusion": "p.xml", "yasa-json": "y.json",
             "dreem-json": "d.json", "bids": "b_events.tsv", "tsv": "n.tsv", "csv": "n.csv",
             "text": "n.txt"}
    out = []
    for fmt, name in names.items():
        write_hypnogram(hyp, folder / name, format=fmt)
        out.append(folder / name)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 8), cut=st.floats(0, 1), flips=st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_corrupted_files_only_raise_format_error(tmp_path_factory, which, cut, flips) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    src = _valid_files(folder)[which]
    data = bytearray(src.read_bytes())
    data = data[: max(1, int(len(data) * (0.3 + 0.7 * cut)))]  # truncate
    for where, byte in flips:  # and corrupt a few bytes
        data[min(len(data) - 1, int(where * len(data)))] = byte
    src.write_bytes(bytes(data))
    try:
        hyp = read_hypnogram(src)
    except FormatError as e:
        assert src.name in str(e) or "sidecar" in str(e)
    else:
        assert hyp.n_epochs >= 1 and set(np.unique(hyp.stages)) <= {int(s) for s in Stage}


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=600))
def test_random_bytes_only_raise_format_error(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("rand") / "x.bin"
    path.write_bytes(data)
    try:
        detect_format(path)
        read_hypnogram(path)
    except FormatError as e:
        assert "x.bin" in str(e)


@pytest.mark.parametrize("row, words", [
    ("nan,0,0,0,0", "probabilities of epoch 2 are not all numbers"),
    ("inf,0,0,0,0", "not all numbers"),
    ("1.5,-0.5,0,0,0", "a probability of epoch 2 is outside 0-1"),
    ("0.5,0.1,0,0,0", "the probabilities of epoch 2 add up to 0.6, not 1"),
])
def test_hypnogram_probabilities_must_be_probabilities(tmp_path: Path, row, words) -> None:
    head = "epoch,stage,p_W,p_N1,p_N2,p_N3,p_REM\n"
    path = _write(tmp_path / "p.csv", head + "1,W,1,0,0,0,0\n" + f"2,W,{row}\n")
    with pytest.raises(FormatError, match=words):
        read_hypnogram(path)
