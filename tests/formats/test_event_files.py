"""Scored-event files: round trips in every format, the spellings NSRR and Profusion
use, unknown names kept, stages in the same file left to the hypnogram readers, and bad
input as one sentence naming the file, the place and the value."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.formats import _common, read_hypnogram, write_hypnogram
from app.core.formats.event_files import (
    EVENT_FORMATS,
    common,
    detect_event_format,
    read_events,
    tables,
    write_events,
)
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram
from app.errors import FormatError

T = EventType
EVENTS = [
    Event(T.OBSTRUCTIVE_APNEA, 62.25, 14.5, ("Flow",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.CENTRAL_APNEA, 130.0, 11.0, ("Thor",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.MIXED_APNEA, 200.5, 12.0, ("Flow",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.HYPOPNEA, 260.0, 18.0, ("Flow",), EventSource.DETECTOR, "resp-det/0.1", 0.75),
    Event(T.RERA, 330.0, 12.5, (), EventSource.TECHNICIAN, "tech-01"),
    Event(T.DESATURATION, 340.0, 20.0, ("SpO2",), EventSource.IMPORTED, "shhs",
          detail={"spo2_nadir": 87.0, "spo2_baseline": 95.0}),
    Event(T.AROUSAL, 400.0, 4.5, ("C4-M1",), EventSource.TECHNICIAN, "tech-01",
          text="after snore"),
    Event(T.LIMB_MOVEMENT, 500.0, 1.5, ("LAT",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.PLM, 530.0, 2.0, ("RAT",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.POSITION_CHANGE, 600.0, 0.0, (), EventSource.TECHNICIAN, "tech-01"),
    Event(T.ARTIFACT, 700.0, 30.0, ("C4-M1",), EventSource.TECHNICIAN, "tech-01"),
    Event(T.OTHER, 800.0, 0.0, (), EventSource.STUDY, "", text="Bathroom break"),
]
SUFFIX = {"csv": "events.csv", "bids": "night_events.tsv", "nsrr": "night-nsrr.xml",
          "profusion": "night-profusion.xml", "edf": "night-events.edf"}


def _core(ev: Event, *, channels: bool = True) -> tuple:
    """What every format keeps: type, times, the text of an unknown event (and channels)."""
    return (ev.type, ev.onset, ev.duration, ev.channels if channels else (),
            ev.text if ev.type is T.OTHER else "")


@pytest.mark.parametrize("fmt", sorted(EVENT_FORMATS))
def test_every_format_round_trips_what_it_carries(tmp_path, fmt):
    path = tmp_path / SUFFIX[fmt]
    write_events(reversed(EVENTS), path)  # written sorted, whatever the order given
    assert detect_event_format(path) == fmt
    back = read_events(path, recording_sec=900.0)
    assert [_core(e, channels=fmt != "edf") for e in back] == \
        [_core(e, channels=fmt != "edf") for e in EVENTS]
    if fmt in ("csv", "bids"):  # these keep everything: source, scorer, confidence, notes
        assert back == EVENTS
    else:
        assert {e.source for e in back} == {EventSource.IMPORTED}
        assert back[0].scorer == path.stem
    if fmt in ("csv", "nsrr"):
        assert back[5].detail["spo2_nadir"] == 87.0 and back[5].detail["spo2_baseline"] == 95.0
    if fmt == "profusion":
        assert back[5].detail["spo2_nadir"] == 87.0
    write_events(back, tmp_path / ("again-" + SUFFIX[fmt]))  # a second trip: the same file
    again = read_events(tmp_path / ("again-" + SUFFIX[fmt]))
    assert [_core(e) for e in again] == [_core(e) for e in back]


def test_nsrr_spellings_map_to_types_and_survive_a_round_trip(tmp_path):
    path = tmp_path / "shhs1-200001-nsrr.xml"
    events = [("Respiratory|Respiratory", "Obstructive apnea|Obstructive Apnea", "ABDO RES"),
              ("Respiratory|Respiratory", "Central apnea|Central Apnea", ""),
              ("Respiratory|Respiratory", "Hypopnea|Hypopnea", "NEW AIR"),
              ("Respiratory|Respiratory", "SpO2 desaturation|SpO2 desaturation", "SaO2"),
              ("Arousals|Arousals", "Arousal|Arousal ()", "C3"),
              ("Arousals|Arousals", "ASDA arousal|Arousal (ASDA)", ""),
              ("Arousals|Arousals",
               "Arousal resulting from respiratory effort|Arousal (ARO RES)", ""),
              ("Limb Movement|Limb Movement", "Limb movement - left|Limb Movement (Left)", ""),
              ("Limb Movement|Limb Movement", "Periodic leg movement - left|PLM (Left)", ""),
              ("Respiratory|Respiratory", "Unsure|Unsure", "")]
    body = "".join(
        f"<ScoredEvent><EventType>{t}</EventType><EventConcept>{c}</EventConcept>"
        f"<Start>{100 + 40 * i}</Start><Duration>12.5</Duration>"
        + (f"<SignalLocation>{loc}</SignalLocation>" if loc else "")
        + ("<SpO2Nadir>89</SpO2Nadir><SpO2Baseline>96</SpO2Baseline>" if "SpO2" in c else "")
        + "</ScoredEvent>" for i, (t, c, loc) in enumerate(events))
    stages = ("<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept>"
              "<Start>0</Start><Duration>600.0</Duration><ClockTime>00.00.00 22.00.00"
              "</ClockTime></ScoredEvent>"
              "<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Wake|0"
              "</EventConcept><Start>0</Start><Duration>300.0</Duration></ScoredEvent>"
              "<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2"
              "</EventConcept><Start>300</Start><Duration>300.0</Duration></ScoredEvent>")
    path.write_text(f"<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>{stages}"
                    f"{body}</ScoredEvents></PSGAnnotation>")
    got = read_events(path)
    assert [e.type for e in got] == [T.OBSTRUCTIVE_APNEA, T.CENTRAL_APNEA, T.HYPOPNEA,
                                     T.DESATURATION, T.AROUSAL, T.AROUSAL, T.AROUSAL,
                                     T.LIMB_MOVEMENT, T.PLM, T.OTHER]
    assert got[0].channels == ("ABDO RES",) and got[-1].text == "Unsure"
    assert got[3].detail["spo2_nadir"] == 89.0
    # the stages read exactly as from a file without the events
    plain = tmp_path / "stages-only.xml"
    plain.write_text(f"<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>{stages}"
                     "</ScoredEvents></PSGAnnotation>")
    assert read_hypnogram(path).labels() == read_hypnogram(plain).labels() == \
        ["W"] * 10 + ["N2"] * 10
    out = tmp_path / "out-nsrr.xml"
    write_events(got, out)
    text = out.read_text()
    for _, c, _ in events:  # the file's own EventType and concept are written back
        assert f"<EventConcept>{c}</EventConcept>" in text
    assert text.count("<EventType>Limb Movement|Limb Movement</EventType>") == 2
    assert [_core(e) for e in read_events(out)] == [_core(e) for e in got]


def test_profusion_events_beside_sleep_stages(tmp_path):
    path = tmp_path / "shhs1-200001-profusion.xml"
    path.write_text(
        "<CMPStudyConfig><EpochLength>30</EpochLength><ScoredEvents>"
        "<ScoredEvent><Name>Recording Start Time</Name><Start>0</Start></ScoredEvent>"
        "<ScoredEvent><Name>Obstructive Apnea</Name><Start>35.5</Start>"
        "<Duration>12</Duration><Input>ABDO RES</Input></ScoredEvent>"
        "<ScoredEvent><Name>SpO2 desaturation</Name><Start>44</Start><Duration>20"
        "</Duration><Input>SaO2</Input><LowestSpO2>85</LowestSpO2><Desaturation>9"
        "</Desaturation></ScoredEvent>"
        "<ScoredEvent><Name>Arousal (ASDA)</Name><Start>52</Start><Duration>5</Duration>"
        "<Input>C3</Input></ScoredEvent>"
        "<ScoredEvent><Name>Limb Movement (Left)</Name><Start>70</Start>"
        "<Duration>2</Duration></ScoredEvent>"
        "<ScoredEvent><Name>Snoring</Name><Start>80</Start><Duration>3</Duration>"
        "</ScoredEvent></ScoredEvents>"
        "<SleepStages><SleepStage>0</SleepStage><SleepStage>2</SleepStage><SleepStage>2"
        "</SleepStage><SleepStage>5</SleepStage></SleepStages></CMPStudyConfig>")
    got = read_events(path, recording_sec=120.0, channel_names=["ABDO RES", "SaO2", "C3"])
    assert [(e.type, e.onset, e.channels) for e in got] == [
        (T.OBSTRUCTIVE_APNEA, 35.5, ("ABDO RES",)), (T.DESATURATION, 44.0, ("SaO2",)),
        (T.AROUSAL, 52.0, ("C3",)), (T.LIMB_MOVEMENT, 70.0, ()), (T.OTHER, 80.0, ())]
    assert got[1].detail["spo2_nadir"] == 85.0 and got[1].detail["spo2_drop"] == 9.0
    assert got[-1].text == "Snoring"
    assert read_hypnogram(path).labels() == ["W", "N2", "N2", "REM"]
    out = tmp_path / "out-profusion.xml"
    write_events(got, out)
    assert "<Name>Arousal (ASDA)</Name>" in out.read_text()  # the file's spelling kept
    assert "<Name>Limb Movement (Left)</Name>" in out.read_text()


def test_edf_annotations_events_and_stages_in_one_file(tmp_path):
    import edfio

    path = tmp_path / "night.edf"
    anns = [edfio.EdfAnnotation(0.0, None, "Lights off"),
            edfio.EdfAnnotation(0.0, 60.0, "Sleep stage W"),
            edfio.EdfAnnotation(60.0, 60.0, "Sleep stage N2"),
            edfio.EdfAnnotation(65.5, 12.0, "Obstructive Apnea"),
            edfio.EdfAnnotation(70.0, 5.0, "Arousal"),
            edfio.EdfAnnotation(80.0, 15.0, "SpO2 desaturation"),
            edfio.EdfAnnotation(90.0, 2.0, "Limb movement"),
            edfio.EdfAnnotation(100.0, 4.0, "Signal artifact"),
            edfio.EdfAnnotation(110.0, None, "Hypopnoea")]
    edfio.Edf([edfio.EdfSignal(np.zeros(1200), 10.0, label="C4-M1")],
              annotations=anns).write(path)
    got = read_events(path, recording_sec=120.0, channel_names=["C4-M1"])
    assert [(e.type, e.onset, e.duration, e.text) for e in got] == [
        (T.OTHER, 0.0, 0.0, "Lights off"), (T.OBSTRUCTIVE_APNEA, 65.5, 12.0, ""),
        (T.AROUSAL, 70.0, 5.0, ""), (T.DESATURATION, 80.0, 15.0, ""),
        (T.LIMB_MOVEMENT, 90.0, 2.0, ""), (T.ARTIFACT, 100.0, 4.0, ""),
        (T.HYPOPNEA, 110.0, 0.0, "")]
    assert read_hypnogram(path).labels() == ["W", "W", "N2", "N2"]


def test_bids_rows_with_stages_are_left_to_the_hypnogram(tmp_path):
    path = tmp_path / "sub-01_task-sleep_events.tsv"
    path.write_text("onset\tduration\ttrial_type\tchannel\n"
                    "0\t30\tW\tn/a\n30\t30\tN2\tn/a\n"
                    "35\t12\tObstructive apnea\tFlow\n"
                    "50\t4\tarousal\t[C4-M1, O2-M1]\n"
                    "55\tn/a\tsnore\tn/a\n")
    got = read_events(path)
    assert [(e.type, e.onset, e.duration, e.channels, e.text) for e in got] == [
        (T.OBSTRUCTIVE_APNEA, 35.0, 12.0, ("Flow",), ""),
        (T.AROUSAL, 50.0, 4.0, ("C4-M1", "O2-M1"), ""), (T.OTHER, 55.0, 0.0, (), "snore")]
    codes = tmp_path / "coded_events.tsv"  # a dataset's own codes, named in its sidecar
    codes.write_text("onset\tduration\ttrial_type\n10\t12\t1\n40\t5\t2\n")
    codes.with_suffix(".json").write_text(
        '{"trial_type": {"Levels": {"1": "Central apnea", "2": "Arousal"}}}')
    assert [e.type for e in read_events(codes)] == [T.CENTRAL_APNEA, T.AROUSAL]


def test_unknown_names_are_kept_as_other_with_their_text(tmp_path):
    odd = Event(T.OTHER, 10.0, 3.0, text="Cheyne-Stokes|Cheyne Stokes Breathing")
    plain = Event(T.OTHER, 20.0, 1.0, text="Bruxism")
    for fmt in sorted(EVENT_FORMATS):
        path = tmp_path / SUFFIX[fmt]
        write_events([odd, plain], path)
        got = read_events(path)
        texts = [e.text for e in got]
        assert [e.type for e in got] == [T.OTHER, T.OTHER], fmt
        assert texts[1] == "Bruxism" and "Cheyne" in texts[0], fmt
    nsrr = tmp_path / SUFFIX["nsrr"]
    assert "<EventConcept>Bruxism|Bruxism</EventConcept>" in nsrr.read_text()


def test_formula_like_cells_are_neutralised_with_the_hypnogram_helper(tmp_path):
    assert tables.spreadsheet_safe is _common.spreadsheet_safe  # one helper, not a copy
    ev = Event(T.AROUSAL, 5.0, 3.0, ("=HYPERLINK(1)",), scorer="=cmd|' /C calc'!A0",
               text="+SUM(A1)\nsecond line")
    for name in ("events.csv", "x_events.tsv"):
        path = tmp_path / name
        write_events([ev], path)
        raw = path.read_text()
        assert "'=cmd|" in raw and "'+SUM(A1) second line" in raw and "\n=" not in raw
        back = read_events(path)[0]
        assert (back.scorer, back.text, back.channels) == \
            ("=cmd|' /C calc'!A0", "+SUM(A1) second line", ("=HYPERLINK(1)",))


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


CSV_HEAD = "onset_sec,duration_sec,type,channels,source,scorer,confidence,text\n"
NSRR_HEAD = "<PSGAnnotation><ScoredEvents>"


@pytest.mark.parametrize("name, text, kwargs, words", [
    ("a.csv", CSV_HEAD + "10,5,arousal,,,,,\n3600,20,obstructive_apnea,Flow,,,,\n",
     {"recording_sec": 3000.0}, r"a\.csv, line 3: The obstructive apnea at 1:00:00 \(to "
                                r"1:00:20\) lies outside the recording, which lasts 0:50:00"),
    ("b.csv", CSV_HEAD + "10,-4,hypopnea,,,,,\n", {},
     r"b\.csv, line 2: The hypopnea at 0:00:10 has a negative length \(-4 s\)"),
    ("c.csv", CSV_HEAD + "10,4,hypopnea,Nasal Pressure,,,,\n", {"channel_names": ["Flow"]},
     r"c\.csv, line 2: The hypopnea at 0:00:10 is marked on Nasal Pressure, which this "
     r"study does not have"),
    ("d.csv", CSV_HEAD + "ten,4,hypopnea,,,,,\n", {},
     r"d\.csv, line 2: the onset is 'ten', not a number of seconds"),
    ("e.csv", CSV_HEAD + "1,4,hypopnea,,robot,,,\n", {}, r"e\.csv, line 2: the source 'robot'"),
    ("f.csv", CSV_HEAD + "1,4,hypopnea,,,,high,\n", {},
     r"f\.csv, line 2: the confidence 'high' is not a number"),
    ("g.csv", CSV_HEAD + "1,4,hypopnea,,detector,x,1.4,\n", {},
     r"g\.csv, line 2: .*confidence of 1\.4; it must be 0-1"),
    ("h.csv", CSV_HEAD + "1,4,hypopnea,,,,,,extra\n", {},
     r"h\.csv, line 2: 9 fields but the header has 8"),
    ("i.csv", "onset_sec,type\n1,arousal\n", {}, r"i\.csv, line 1: there is no duration_sec"),
    ("j.csv", CSV_HEAD.strip() + ",detail\n1,4,arousal,,,,,,{oops\n", {},
     r"j\.csv, line 2: the detail cell is not valid JSON"),
    ("k.csv", CSV_HEAD + '1,4,"Snore, loud,,,,,\n', {},
     r"k\.csv, line 2: the row cannot be read as a table \(unexpected end of data\)"),
    ("a.xml", NSRR_HEAD + "<ScoredEvent><EventConcept>Hypopnea|Hypopnea</EventConcept>"
     "<Start>abc</Start><Duration>3</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>",
     {}, r"a\.xml, ScoredEvent 1: <Start> is 'abc', not a number of seconds"),
    ("b.xml", NSRR_HEAD + "<ScoredEvent><EventConcept>Hypopnea|Hypopnea</EventConcept>"
     "<Start>5</Start><Duration>-3</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>",
     {}, r"b\.xml, ScoredEvent 1: The hypopnea at 0:00:05 has a negative length"),
    ("c.xml", NSRR_HEAD + "<ScoredEvent><EventConcept>Hypopnea|Hypopnea</EventConcept>"
     "<Start>5</Start></ScoredEvents></PSGAnnotation>", {},
     r"c\.xml, line 1: not well-formed XML \(mismatched tag\)"),
    ("d.xml", NSRR_HEAD + "<ScoredEvent><Start>5</Start><Duration>1</Duration>"
     "</ScoredEvent></ScoredEvents></PSGAnnotation>", {},
     r"d\.xml, ScoredEvent 1: the event has no <EventConcept>"),
    ("e.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><PSGAnnotation/>', {},
     r"e\.xml declares XML entities"),
    ("f.xml", "<PSGAnnotation>" + "<a>" * 80 + "</a>" * 80 + "</PSGAnnotation>", {},
     r"f\.xml: the XML nests elements more than 64 levels deep .*which an event file never"),
    ("g.xml", "<CMPStudyConfig><ScoredEvents><ScoredEvent><Name>Hypopnea</Name><Start>5"
     "</Start><Duration>3</Duration><LowestSpO2>low</LowestSpO2></ScoredEvent>"
     "</ScoredEvents></CMPStudyConfig>", {},
     r"g\.xml, ScoredEvent 1: <LowestSpO2> is 'low', not a number"),
    ("h.xml", "<Annotations><Event/></Annotations>", {},
     r"h\.xml: the XML root element is <Annotations>"),
    ("x_events.tsv", "onset\tduration\ttrial_type\n5\t3\n", {},
     r"x_events\.tsv, line 2: 2 fields but the header has 3"),
    ("y_events.tsv", "onset\tduration\tchannel\n5\t3\tFlow\n", {},
     r"y_events\.tsv, line 1: there is no trial_type column"),
    ("z.txt", "W\nN1\n", {}, r"z\.txt is not an event file PSG Lens reads: its first line"),
    ("empty.csv", "", {}, r"empty\.csv is empty or binary"),
])
def test_bad_input_is_one_sentence_naming_file_place_and_value(tmp_path, name, text, kwargs,
                                                                words):
    path = _write(tmp_path, name, text)
    with pytest.raises(FormatError, match=words) as info:
        read_events(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.endswith((".", ")", "?"))


def test_huge_files_and_too_many_events_are_refused_unread(tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.write(CSV_HEAD.encode())
        f.truncate(65 * 2**20)  # sparse: no 65 MiB written
    with pytest.raises(FormatError, match=r"big\.csv is 65 MiB, larger than an event file "
                                          r"can be \(64 MiB at most\)"):
        read_events(big)
    many = tmp_path / "many.csv"
    many.write_text(CSV_HEAD + "".join(f"{i},1,arousal,,,,,\n" for i in range(60)))
    monkeypatch.setattr(common, "MAX_EVENTS", 50)
    with pytest.raises(FormatError, match=r"many\.csv holds 60 events, more than a night"):
        read_events(many)


def test_writing_names_the_problem(tmp_path):
    with pytest.raises(FormatError, match=r"Cannot tell the event format of x\.dat"):
        write_events(EVENTS, tmp_path / "x.dat")
    with pytest.raises(FormatError, match=r"Unknown event format 'json'"):
        write_events(EVENTS, tmp_path / "x.csv", format="json")
    with pytest.raises(FormatError, match=r"the folder .*missing does not exist"):
        write_events(EVENTS, tmp_path / "missing" / "x.csv")
    target = tmp_path / "keep.csv"
    target.write_text("old")
    with pytest.raises(FormatError):
        write_events([Event(T.AROUSAL, 1.0, 1.0, detail={"x": object()})], target)
    assert target.read_text() == "old"  # a failed write leaves the old file as it was
    with pytest.raises(FormatError, match=r"nothing\.csv does not exist"):
        read_events(tmp_path / "nothing.csv")


def test_a_hypnogram_file_written_as_usual_still_reads_its_stages(tmp_path):
    hyp = Hypnogram.from_labels(["W", "N1", "N2", "N2", "REM"])
    for name in ("h.xml", "h_events.tsv"):
        write_hypnogram(hyp, tmp_path / name)
        assert read_hypnogram(tmp_path / name).labels() == hyp.labels()
        assert read_events(tmp_path / name) == []  # stages only: no events in it
