"""The format registry: name -> reader, writer, extensions, content sniffer.

Order matters: it is the priority when several sniffers accept a file and its extension
does not decide (a BIDS file with a ``stage`` column is BIDS before it is TSV).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.formats import (
    bids_events,
    edf_annotations,
    nsrr_xml,
    profusion_xml,
    table,
    text,
    yasa_json,
)
from app.core.formats._common import Head
from app.core.scoring.hypnogram import Hypnogram


@dataclass(frozen=True)
class FormatSpec:
    """One hypnogram format.

    ``carries`` names what survives a write and read back beyond the stages:
    ``epoch_sec``, ``start_time``, ``probabilities``, ``scorer``, ``sources``, and
    ``artifact`` (Artifact kept distinct from Unscored).
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    reader: Callable[..., Hypnogram]
    writer: Callable[..., None]
    sniff: Callable[[Head], bool]
    carries: frozenset[str]


def _spec(name: str, description: str, extensions: tuple[str, ...], reader, writer, sniff,
          carries: str) -> FormatSpec:
    return FormatSpec(name, description, extensions, reader, writer, sniff,
                      frozenset(carries.split()))


FORMATS: dict[str, FormatSpec] = {s.name: s for s in (
    _spec("edf", "EDF+ annotations (Sleep-EDF hypnogram style)", (".edf",),
          edf_annotations.read_edf_annotations, edf_annotations.write_edf_annotations,
          edf_annotations.sniff_edf, "epoch_sec start_time scorer artifact"),
    _spec("nsrr", "NSRR XML (PSGAnnotation)", (".xml",),
          nsrr_xml.read_nsrr, nsrr_xml.write_nsrr, nsrr_xml.sniff_nsrr,
          "epoch_sec start_time artifact"),
    _spec("profusion", "Compumedics Profusion XML (CMPStudyConfig)", (".xml",),
          profusion_xml.read_profusion, profusion_xml.write_profusion,
          profusion_xml.sniff_profusion, "epoch_sec artifact"),
    _spec("yasa-json", "YASA hypnogram JSON (Hypnogram.to_json)", (".json",),
          yasa_json.read_yasa_json, yasa_json.write_yasa_json, yasa_json.sniff_yasa_json,
          "epoch_sec start_time probabilities scorer artifact"),
    _spec("dreem-json", "Dreem JSON list of stage codes (-1 .. 4)", (".json",),
          yasa_json.read_dreem_json, yasa_json.write_dreem_json,
          yasa_json.sniff_dreem_json, ""),
    _spec("bids", "BIDS events.tsv with a JSON sidecar", ("_events.tsv",),
          bids_events.read_bids, bids_events.write_bids, bids_events.sniff_bids,
          "epoch_sec start_time probabilities scorer artifact"),
    _spec("tsv", "Tab-separated table, one row per epoch", (".tsv", ".tab"),
          table.read_table, table.write_tsv, table.sniff_tsv,
          "epoch_sec start_time probabilities scorer sources artifact"),
    _spec("csv", "Comma-separated table, one row per epoch", (".csv",),
          table.read_table, table.write_csv, table.sniff_csv,
          "epoch_sec start_time probabilities scorer sources artifact"),
    _spec("text", "Plain text, one stage per line (YASA)", (".txt", ".hypno"),
          text.read_text_hypnogram, text.write_text, text.sniff_text, "artifact"),
)}
