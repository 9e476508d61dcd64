"""Events in NSRR XML (``PSGAnnotation``) and Compumedics Profusion XML
(``CMPStudyConfig``), the two files NSRR distributes per SHHS/MESA/CFS night::

    <PSGAnnotation> ... <ScoredEvents>
      <ScoredEvent>
        <EventType>Respiratory|Respiratory</EventType>
        <EventConcept>Obstructive apnea|Obstructive Apnea</EventConcept>
        <Start>1234.5</Start><Duration>17.2</Duration>
        <SignalLocation>ABDO RES</SignalLocation>
        <SpO2Nadir>88</SpO2Nadir><SpO2Baseline>95</SpO2Baseline>
      </ScoredEvent>

    <CMPStudyConfig> ... <ScoredEvents>
      <ScoredEvent>
        <Name>Obstructive Apnea</Name><Start>1234.5</Start><Duration>17.2</Duration>
        <Input>ABDO RES</Input><LowestSpO2>88</LowestSpO2><Desaturation>7</Desaturation>
      </ScoredEvent>

Stage events (NSRR ``Stages|Stages``, Profusion's ``SleepStages``) and the recording's
start time are the hypnogram readers' and are skipped; reading a file for its events
never changes how its stages read. SpO2 figures go to ``detail`` (``spo2_nadir``,
``spo2_baseline``, ``spo2_drop``); the channel (SignalLocation, Input) to ``channels``.
Files are parsed through the hypnogram readers' guard: entity declarations refused,
64 MiB and 64 levels of nesting at most.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from app.core.formats._common import fmt_sec, fname, parse_xml, write_text_atomic
from app.core.formats.event_files.common import (
    Found,
    join_channels,
    make_event,
    seconds,
    split_channels,
)
from app.core.formats.event_files.names import NSRR, PROFUSION, name_for, type_for_name
from app.core.scoring.events import Event, EventType
from app.errors import FormatError

NSRR_ROOT, PROFUSION_ROOT = "PSGAnnotation", "CMPStudyConfig"
_NSRR_SPO2 = (("SpO2Nadir", "spo2_nadir"), ("SpO2Baseline", "spo2_baseline"))
_PROFUSION_SPO2 = (("LowestSpO2", "spo2_nadir"), ("Desaturation", "spo2_drop"))
_CONCEPTS = {t: concept for t, (_, concept) in NSRR.items()}


def _spo2(name: str, el: ET.Element, where: str, tags: tuple) -> dict:
    out = {}
    for tag, key in tags:
        text = (el.findtext(tag) or "").strip()
        if text:
            try:
                out[key] = float(text)
            except ValueError:
                raise FormatError(f"{name}, {where}: <{tag}> is {text!r}, not a number "
                                  "(SpO2 in %).") from None
    return out


def _scored_events(root: ET.Element) -> list[ET.Element]:
    scored = root.find("ScoredEvents")
    return [] if scored is None else list(scored.iter("ScoredEvent"))


def read_nsrr_events(path: Path) -> list[Found]:
    """The non-stage ScoredEvents of an NSRR XML file."""
    name = fname(path)
    root = parse_xml(path, {NSRR_ROOT: "NSRR"})
    out = []
    for i, el in enumerate(_scored_events(root), start=1):
        etype = (el.findtext("EventType") or "").strip()
        concept = (el.findtext("EventConcept") or "").strip()
        if etype.lower().startswith("stages") or \
                concept.lower().startswith("recording start time"):
            continue
        where = f"ScoredEvent {i}"
        if not concept:
            raise FormatError(f"{name}, {where}: the event has no <EventConcept>, so what "
                              "it is cannot be told.")
        onset = seconds(name, el.findtext("Start"), where, "<Start>")
        duration = seconds(name, el.findtext("Duration"), where, "<Duration>")
        detail = {"event_type": etype, **_spo2(name, el, where, _NSRR_SPO2)}
        ev = make_event(concept, onset, duration,
                        channels=split_channels(el.findtext("SignalLocation") or ""),
                        scorer=path.stem, detail=detail)
        out.append(Found(ev, where))
    return out


def read_profusion_events(path: Path) -> list[Found]:
    """The ScoredEvents of a Compumedics Profusion XML file."""
    name = fname(path)
    root = parse_xml(path, {PROFUSION_ROOT: "Compumedics Profusion"})
    out = []
    for i, el in enumerate(_scored_events(root), start=1):
        label = (el.findtext("Name") or "").strip()
        if label.lower().startswith("recording start time"):
            continue
        where = f"ScoredEvent {i}"
        if not label:
            raise FormatError(f"{name}, {where}: the event has no <Name>, so what it is "
                              "cannot be told.")
        onset = seconds(name, el.findtext("Start"), where, "<Start>")
        duration = seconds(name, el.findtext("Duration"), where, "<Duration>")
        ev = make_event(label, onset, duration,
                        channels=split_channels(el.findtext("Input") or ""),
                        scorer=path.stem, detail=_spo2(name, el, where, _PROFUSION_SPO2))
        out.append(Found(ev, where))
    return out


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = text
    return el


def _figure(value: object) -> str:
    return f"{float(value):g}"  # type: ignore[arg-type]


def _write(root: ET.Element, path: Path) -> None:
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    write_text_atomic(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")


def write_nsrr_events(events: Sequence[Event], path: Path) -> None:
    """Write an NSRR XML file holding these events (no stages; write the hypnogram to
    its own file)."""
    from app import __version__

    root = ET.Element(NSRR_ROOT)
    _sub(root, "SoftwareVersion", f"PSG Lens {__version__}")
    scored = _sub(root, "ScoredEvents")
    for ev in events:
        el = _sub(scored, "ScoredEvent")
        # the file's own EventType, unless the event has become another type since
        read_type = str(ev.detail.get("event_type") or "")
        read_as = str(ev.detail.get("name") or "")
        same = type_for_name(read_as) is ev.type if read_as else ev.type is EventType.OTHER
        _sub(el, "EventType", read_type if read_type and same else NSRR[ev.type][0])
        _sub(el, "EventConcept", name_for(ev, _CONCEPTS, nsrr=True))
        _sub(el, "Start", fmt_sec(ev.onset))
        _sub(el, "Duration", fmt_sec(ev.duration))
        if ev.channels:
            _sub(el, "SignalLocation", join_channels(ev.channels))
        for tag, key in _NSRR_SPO2:
            if ev.detail.get(key) is not None:
                _sub(el, tag, _figure(ev.detail[key]))
    _write(root, path)


def write_profusion_events(events: Sequence[Event], path: Path) -> None:
    """Write a Profusion XML file holding these events (no SleepStages)."""
    root = ET.Element(PROFUSION_ROOT)
    scored = _sub(root, "ScoredEvents")
    for ev in events:
        el = _sub(scored, "ScoredEvent")
        _sub(el, "Name", name_for(ev, PROFUSION))
        _sub(el, "Start", fmt_sec(ev.onset))
        _sub(el, "Duration", fmt_sec(ev.duration))
        if ev.channels:
            _sub(el, "Input", join_channels(ev.channels))
        for tag, key in _PROFUSION_SPO2:
            if ev.detail.get(key) is not None:
                _sub(el, tag, _figure(ev.detail[key]))
    _write(root, path)
