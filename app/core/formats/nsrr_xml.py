"""NSRR XML annotations (``PSGAnnotation``), as the National Sleep Research Resource
distributes them for SHHS, MESA, CFS, ...::

    <PSGAnnotation>
      <EpochLength>30</EpochLength>
      <ScoredEvents>
        <ScoredEvent>
          <EventType/>
          <EventConcept>Recording Start Time</EventConcept>
          <Start>0</Start><Duration>30600.0</Duration>
          <ClockTime>00.00.00 21.30.00</ClockTime>
        </ScoredEvent>
        <ScoredEvent>
          <EventType>Stages|Stages</EventType>
          <EventConcept>Wake|0</EventConcept>
          <Start>0.0</Start><Duration>1290.0</Duration>
        </ScoredEvent>
        ...

Stage concepts: ``Wake|0``, ``Stage 1 sleep|1`` .. ``Stage 4 sleep|4`` (R&K 3 and 4 ->
N3), ``REM sleep|5``, ``Movement|6`` (Artifact), ``Unscored|9``. Events of other types
(respiratory, arousals, ...) are skipped. NSRR de-identifies dates as ``00.00.00``: then
the start time is None and the clock time is kept in ``meta["clock_time"]``. Writing
stores the real date (``dd.mm.yy``). Probabilities and the scorer are not carried.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from app.core.formats._common import (
    Head,
    StageEvent,
    check_epoch_sec,
    events_to_stages,
    fname,
    infer_epoch_sec,
    make_hypnogram,
    parse_xml,
    stage_runs,
    to_stage,
    write_text_atomic,
    xml_root,
)
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import INT_CONVENTIONS, Stage, UnknownStageError, parse_stage
from app.errors import FormatError

ROOT = "PSGAnnotation"
CONCEPTS = {Stage.W: "Wake|0", Stage.N1: "Stage 1 sleep|1", Stage.N2: "Stage 2 sleep|2",
            Stage.N3: "Stage 3 sleep|3", Stage.REM: "REM sleep|5",
            Stage.ARTIFACT: "Movement|6", Stage.UNSCORED: "Unscored|9"}
_CLOCK = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2,4})\s+(\d{1,2})\.(\d{1,2})\.(\d{1,2})")


def sniff_nsrr(head: Head) -> bool:
    return xml_root(head) == ROOT


def _stage(concept: str, unknown: str, where: str) -> int:
    try:
        return int(parse_stage(concept))
    except UnknownStageError:
        code = concept.rpartition("|")[2].strip()
        if code.lstrip("-").isdigit() and int(code) in INT_CONVENTIONS["nsrr"]:
            return int(INT_CONVENTIONS["nsrr"][int(code)])  # "Stage 2|2"-like variants
        return to_stage(concept, unknown, where)


def _clock(text: str, notes: list[str], meta: dict) -> dt.datetime | None:
    m = _CLOCK.search(text)
    if not m:
        notes.append(f"The recording clock time {text!r} could not be read; start unknown.")
        return None
    d, mo, y, h, mi, s = (int(g) for g in m.groups())
    meta["clock_time"] = f"{h:02d}:{mi:02d}:{s:02d}"
    if d == 0 or mo == 0:
        return None  # NSRR's de-identified date: only the clock time is known
    year = y if y >= 100 else (1900 + y if y >= 85 else 2000 + y)  # EDF's 1985-2084 rule
    try:
        return dt.datetime(year, mo, d, h, mi, s)
    except ValueError:
        notes.append(f"The recording clock time {text!r} is not a valid date; start unknown.")
        return None


def _number(name: str, ev: ET.Element, tag: str, where: str) -> float:
    text = (ev.findtext(tag) or "").strip()
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{name}, {where}: <{tag}> is {text!r}, not a number of "
                          "seconds.") from None


def read_nsrr(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
              ) -> Hypnogram:
    """Read the ``Stages|Stages`` events of an NSRR XML file (see the module docstring)."""
    path = Path(path)
    name = fname(path)
    root = parse_xml(path, {ROOT: "NSRR"})
    warnings: list[str] = []
    meta: dict = {}
    scored = root.find("ScoredEvents")
    if scored is None:
        raise FormatError(f"{name}: <{ROOT}> has no <ScoredEvents> element.")
    events: list[StageEvent] = []
    start = None
    skipped = 0
    for i, ev in enumerate(scored.iter("ScoredEvent"), start=1):
        etype = (ev.findtext("EventType") or "").strip().lower()
        concept = (ev.findtext("EventConcept") or "").strip()
        if concept.lower().startswith("recording start time"):
            clock = (ev.findtext("ClockTime") or "").strip()
            start = _clock(clock, warnings, meta) if clock else None
            continue
        if not etype.startswith("stages"):
            skipped += 1  # respiratory events, arousals, SpO2 ...
            continue
        where = f"ScoredEvent {i}"
        onset = _number(name, ev, "Start", where)
        where = f"ScoredEvent {i} (onset {onset:g} s)"
        duration = _number(name, ev, "Duration", where)
        events.append(StageEvent(onset, duration, _stage(concept, unknown,
                                                         f"{name}, {where}"), where))
    if not events:
        raise FormatError(f"{name} has no sleep-stage events (EventType Stages|Stages).")
    stated_text = (root.findtext("EpochLength") or "").strip()
    stated = None
    if stated_text:
        try:
            stated = float(stated_text)
        except ValueError:
            raise FormatError(f"{name}: <EpochLength> is {stated_text!r}, not a number of "
                              "seconds.") from None
    if stated is None and epoch_sec is None:
        epoch = infer_epoch_sec(path, events, warnings)
    else:
        epoch = check_epoch_sec(path, stated, epoch_sec, "<EpochLength>")
    stages = events_to_stages(path, events, epoch, warnings)
    meta["skipped_events"] = skipped
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=warnings, start_time=start,
                          scorer=path.stem, meta=meta)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = text
    return el


def _sec(x: float) -> str:
    """Seconds as NSRR writes them ("30.0"), exact for any float."""
    return f"{x:.1f}" if float(f"{x:.1f}") == x else repr(float(x))


def write_nsrr(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True) -> None:
    """Write an NSRR XML file with one ``Stages|Stages`` event per stage run."""
    from app import __version__

    ep = hyp.epoch_sec
    root = ET.Element(ROOT)
    _sub(root, "SoftwareVersion", f"PSG Lens {__version__}")
    _sub(root, "EpochLength", f"{ep:g}")
    events = _sub(root, "ScoredEvents")
    ev = _sub(events, "ScoredEvent")
    _sub(ev, "EventType")
    _sub(ev, "EventConcept", "Recording Start Time")
    _sub(ev, "Start", "0")
    _sub(ev, "Duration", _sec(hyp.duration_sec))
    if hyp.start_time is not None:
        _sub(ev, "ClockTime", hyp.start_time.strftime("%d.%m.%y %H.%M.%S"))
    for first, count, stage in stage_runs(hyp.stages):
        ev = _sub(events, "ScoredEvent")
        _sub(ev, "EventType", "Stages|Stages")
        _sub(ev, "EventConcept", CONCEPTS[Stage(stage)])
        _sub(ev, "Start", _sec(first * ep))
        _sub(ev, "Duration", _sec(count * ep))
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    write_text_atomic(Path(path), '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                      + text + "\n")
